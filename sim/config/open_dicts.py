"""Dict-valued keys the user may extend without Hydra's "+" (their values stay typed and
strict: a typo inside a tenant still fails). Hydra makes the whole tree "struct" after
composing; :func:`sim.config.schema` opens these nodes. A module of its own so that the error
messages (:mod:`sim.config.messages`) read it without importing the package they serve."""

OPEN_DICTS = ("tenants", "deployments", "notes", "dedicated.replicas", "dedicated.spot.replicas",
              "catalog.gpus", "catalog.models", "cold_start.tiers", "serverless.pool",
              "serverless.rate_limits", "serverless.autoscaler.min_replicas",
              "cold_start.engine_init_s_by_model", "hybrid.placement", "pipelines",
              "tenants_from.servegen.models", "variants",
              "compound.mixed_placement")  # a model of the pipeline placed (the seventeenth sweep)
