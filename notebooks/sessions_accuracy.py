# Databricks notebook source
# MAGIC %md
# MAGIC # Sessions accuracy
# MAGIC Compare the sessions with the simulator's ground truth.
# MAGIC
# MAGIC The same step as `parkpal sessions accuracy` and the entry point `parkpal-sessions-accuracy`: the widgets are its options. Run it on a
# MAGIC cluster with the `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-sessions-accuracy")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-sessions-accuracy")
