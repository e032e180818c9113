# Databricks notebook source
# MAGIC %md
# MAGIC # Gold accuracy
# MAGIC Compare zone_metrics_hourly with the simulator's ground truth.
# MAGIC
# MAGIC The same step as `parkpal gold accuracy` and the entry point `parkpal-gold-accuracy`: the widgets are its options. Run it on a
# MAGIC cluster with the `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-gold-accuracy")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-gold-accuracy")
