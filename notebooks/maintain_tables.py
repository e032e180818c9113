# Databricks notebook source
# MAGIC %md
# MAGIC # Table maintenance
# MAGIC OPTIMIZE (Z-order) the gold tables and VACUUM bronze, silver and gold, keeping `retention_hours` (at least 7 days) of time travel.
# MAGIC
# MAGIC The same step as the job task `parkpal-maintain`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-maintain")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-maintain")
