"""Plugin-facing path of the availability checks, kept stable: adapters write
``from bench.availability import Availability, download_allowed``. The checks live in
``bench.registry.availability``; this module only re-exports them."""
from .registry.availability import (COMMIT, PICKLE_ENV, RECORDED_ENV, Availability, check_binary,
                                    check_hf_weights, check_modules, check_versions, download_allowed,
                                    explain_load_error, hf_local_snapshot, is_commit, model_weight_kwargs,
                                    pickle_allowed, recorded_env, unpinned)

__all__ = ["COMMIT", "PICKLE_ENV", "RECORDED_ENV", "Availability", "check_binary", "check_hf_weights",
           "check_modules", "check_versions", "download_allowed", "explain_load_error", "hf_local_snapshot",
           "is_commit", "model_weight_kwargs", "pickle_allowed", "recorded_env", "unpinned"]
