import sys, time, cProfile, pstats
sys.path.insert(0, "bench")
from scale import synthetic
from model_training.lib.data_quality.epic_builder import infer_schema, split_frame
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.stage.data_validation import validate_data
from tests.conftest import conf_params
n = int(sys.argv[1])
frame = synthetic(n, 0)
parts = split_frame(frame, seed=0, stratify="target")
schema = infer_schema(frame, "s", target="target")
spec = ModelingSpec(epic_id="s", problem_type="binary_classification", target="target", primary_metric="roc_auc", positive_class="yes")
opts = conf_params("data_validation", env=None)
t=time.perf_counter()
cProfile.run("validate_data(parts['train'], parts['validation'], schema, spec, 's', opts)", "/tmp/dv.out")
print("validate_data", time.perf_counter()-t)
pstats.Stats("/tmp/dv.out").sort_stats("cumtime").print_stats(25)
