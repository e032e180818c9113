# Databricks notebook source
# MAGIC %md
# MAGIC # Sessions backfill
# MAGIC Rebuild the sessions entering in a time range from silver.
# MAGIC
# MAGIC The same step as `parkpal sessions backfill` and the entry point `parkpal-sessions-backfill`: the widgets are its options. Run it on a
# MAGIC cluster with the `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-sessions-backfill")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-sessions-backfill")
