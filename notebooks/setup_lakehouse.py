# Databricks notebook source
# MAGIC %md
# MAGIC # Set up the lakehouse
# MAGIC Creates the bronze / silver / gold / ops schemas and loads `zones.csv` and `vehicles.csv` into silver. The `setup` job runs this notebook after the first deploy.
# MAGIC
# MAGIC The same step as the job task `parkpal-setup`: the widgets are its parameters. Run it on a cluster with the
# MAGIC `parkpal_lakehouse` wheel installed (`databricks bundle deploy` uploads it; `%pip install` its path).

# COMMAND ----------

from parkpal_lakehouse.jobs.notebooks import declare_widgets, run_step_from_widgets

declare_widgets(dbutils, "parkpal-setup")

# COMMAND ----------

run_step_from_widgets(dbutils, "parkpal-setup")
