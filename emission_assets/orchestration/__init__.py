"""Dagster support shared by every source: partitions, automation, the source descriptor, resources, deployment and
generic job, sensor and schedule factories (each source builds its own from them, in its folder)."""


