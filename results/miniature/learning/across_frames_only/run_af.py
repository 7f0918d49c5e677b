"""Fine-tune the given models on a data root made by make_root.py with tools/learning_check.py's run.

    OMP_NUM_THREADS=1 python results/miniature/learning/across_frames_only/run_af.py ROOT tc_clip,vifi_clip 400 20 3e-4 OUT

Kept with the measurement it made (issue 14). The weights are the tiny profile's CLIP (made on first use).
"""
import argparse
import json
import sys

sys.path.insert(0, "tools")
import learning_check as lc  # noqa: E402

from tcclip.world.assets import clip_weights  # noqa: E402
from tcclip.world.profile import get_profile  # noqa: E402

root, models, steps, every, lr, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
args = argparse.Namespace(steps=steps, every=every, probe=160, batch=8, lr=lr, seed=0, device="cpu", workers=0,
                          out=out, override=sys.argv[7:])
weights = clip_weights(get_profile("tiny"))
runs = []
for model in models.split(","):
    run = lc.learning_run(model, args, weights, root)
    run.pop("losses")
    print(json.dumps(run), flush=True)
    runs.append(run)
json.dump(runs, open(out + "/af.json", "w"), indent=1)
