"""From a composed config to finished runs.

* :mod:`.build`: the one place that reads raw config: checks every key, builds the catalog,
  deployments, workload and setups from typed objects;
* :mod:`.simulate`: one setup over a workload (arrival driver, closed loops, the end of a
  run), and every setup of a config on one workload;
* :mod:`.pipeline`: the driver of compound pipelines above any setup;
* :mod:`.frames`: finished runs to the summary and per-request frames;
* :mod:`.progress`: the terminal progress bar.
"""
