# Databricks notebook source
# MAGIC %md
# MAGIC # Gold: hourly zone metrics
# MAGIC Computes the gold tables for every closed hour not computed yet (and the hours late data touched), or for `from`-`to` (UTC, end exclusive). Idempotent per hour.
# MAGIC
# MAGIC The same step as the job task `parkpal-gold-hourly`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-gold-hourly")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-gold-hourly")
