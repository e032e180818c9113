# Databricks notebook source
# MAGIC %md
# MAGIC # Occupancy forecast training
# MAGIC Rolling-origin backtest against the baselines, fit, log to MLflow and register a version as `@challenger`.
# MAGIC
# MAGIC The same step as the job task `parkpal-forecast-train`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-forecast-train")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-forecast-train")
