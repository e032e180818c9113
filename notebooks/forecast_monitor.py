# Databricks notebook source
# MAGIC %md
# MAGIC # Occupancy forecast monitoring
# MAGIC Scores a day's forecasts against the actual occupancy into `gold.forecast_accuracy_daily` (`date` empty: the newest complete day).
# MAGIC
# MAGIC The same step as the job task `parkpal-forecast-monitor`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-forecast-monitor")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-forecast-monitor")
