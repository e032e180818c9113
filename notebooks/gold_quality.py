# Databricks notebook source
# MAGIC %md
# MAGIC # Gold quality checks
# MAGIC After the hourly write: one row per zone and hour, zones known to `dim_zone`, gold at most `max_lag_hours` behind silver, forecasts inside their intervals. Results in `ops.quality_results`.
# MAGIC
# MAGIC The same step as the job task `parkpal-gold-quality`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-gold-quality")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-gold-quality")
