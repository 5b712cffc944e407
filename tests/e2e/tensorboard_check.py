"""Reads every run's TensorBoard mirror with TensorBoard's own EventAccumulator and checks it
against the run directory: scalars equal metrics.jsonl row for row (as float32, TensorBoard's
scalar type), one output and one critic image per probe per sample step (samples/index.jsonl),
the spec as text, a study member's hparams, and a copy of an event file truncated at a random
byte still loads (a prefix of the records). Usage: tensorboard_check.py RUNS_DIR"""
import glob
import json
import os
import random
import shutil
import sys
import tempfile

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

ALL = {"scalars": 0, "images": 0, "tensors": 0}


def lines(path):
    out = []
    for line in open(path):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def load(path):
    ea = EventAccumulator(path, size_guidance=ALL)
    ea.Reload()
    return ea


def check_run(run):
    ea = load(os.path.join(run, "tb"))
    rows = lines(os.path.join(run, "metrics.jsonl"))
    assert rows, run
    keys = sorted({k for r in rows for k in r} - {"step", "time"})
    assert set(keys) <= set(ea.Tags()["scalars"]), (keys, ea.Tags()["scalars"])
    for k in keys:
        want = [(r["step"], np.float32(r[k])) for r in rows if k in r]
        got = [(e.step, np.float32(e.value)) for e in ea.Scalars(k)]
        assert got == want, f"{run}: scalar {k}: {got} != {want}"
    index = lines(os.path.join(run, "samples", "index.jsonl"))
    for kind, tb_kind in (("output", "output"), ("patch", "critic")):
        probes = {(r["set"], r["probe"]) for r in index if r["kind"] == kind}
        assert probes, run
        for s, p in probes:
            want = [r["step"] for r in index if r["kind"] == kind and (r["set"], r["probe"]) == (s, p)]
            tag = f"{tb_kind}/{s}_{p:02}"
            got = [e.step for e in ea.Images(tag)]
            assert got == want, f"{run}: {tag}: steps {got} != {want}"
            for e in ea.Images(tag):
                assert e.encoded_image_string[:8] == b"\x89PNG\r\n\x1a\n" and e.width > 0
    spec = ea.Tensors("spec")[-1].tensor_proto.string_val[0].decode()
    assert "[train]" in spec, spec[:200]
    print(f"ok: {os.path.basename(run)}: {len(rows)} rows x {len(keys)} scalars, "
          f"{len(probes)} probes x {len(want)} sample steps")
    return ea


def check_hparams(run):
    ea = load(os.path.join(run, "tb"))
    meta = ea.SummaryMetadata("_hparams_/session_start_info")
    assert meta.plugin_data.plugin_name == "hparams"
    data = plugin_data_pb2.HParamsPluginData.FromString(meta.plugin_data.content)
    hp = {k: v.number_value for k, v in data.session_start_info.hparams.items()}
    assert set(hp) == {"loss.style_weight", "optim.lr"}, hp
    assert data.session_start_info.group_name == "tbstudy"
    print(f"ok: hparams {hp}")


def check_truncated(run):
    files = sorted(glob.glob(os.path.join(run, "tb", "events.out.tfevents.*")))
    full = load(os.path.join(run, "tb"))
    size = os.path.getsize(files[0])
    rng = random.Random(os.environ.get("TB_SEED", "7"))
    with tempfile.TemporaryDirectory() as tmp:
        # Anywhere, and twice within the first records (the scalars come before most images).
        for cut in [rng.randrange(1, size) for _ in range(3)] + [rng.randrange(1, size // 8) for _ in range(2)]:
            shutil.copy(files[0], tmp)
            with open(os.path.join(tmp, os.path.basename(files[0])), "r+b") as f:
                f.truncate(cut)
            ea = load(tmp)
            got = [(e.step, e.value) for e in ea.Scalars("g_adv")] if "g_adv" in ea.Tags()["scalars"] else []
            want = [(e.step, e.value) for e in full.Scalars("g_adv")]
            assert got == want[: len(got)], (cut, got, want)
            print(f"ok: truncated at byte {cut} of {size}: {len(got)} of {len(want)} g_adv points load")


def main(runs_dir):
    runs = sorted(glob.glob(os.path.join(runs_dir, "*", "tb")))
    assert len(runs) >= 2, runs
    for tb in runs:
        check_run(os.path.dirname(tb))
    member = [os.path.dirname(t) for t in runs if t.endswith("-member/tb")][0]
    check_hparams(member)
    check_truncated(member)


if __name__ == "__main__":
    main(sys.argv[1])
