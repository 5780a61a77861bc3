"""The report of ``tinygen compare``: one table, the pictures side by side, and sentences from the numbers.

``report.md`` links the PNGs next to it; ``report.html`` carries them inline (base64), so it can be mailed.
"""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from . import plots
from .atomic import atomic_write
from .models import model_class
from .report_text import in_order, name, sentences

__all__ = ["write_report", "sentences"]


def _f(v, fmt="{:.1f}"):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return fmt.format(v)


def _pictures(out, summary):
    """samples.png (+ reconstructions.png, interpolations_*.png) from the saved runs, seed 0; curve files."""
    from .data import load_dataset
    from .runs import load_run
    out = Path(out)
    res = summary["results"]
    held = load_dataset(summary["data"], "test")
    runs = {k: load_run(res[k]["run"] if "run" in res[k] else out / "runs" / k) for k in in_order(res)}
    if held.kind == "image":
        pics = _image_pictures(out, runs, held, summary["data"])
        pics.update(_interpolation_pictures(out, runs, held))
    else:
        pics = _toy_pictures(out, runs, res, held, summary["data"])
    for k, run in runs.items():
        src = run.path / "curves.png"
        if src.exists():
            dst = out / f"curves_{k}.png"
            dst.write_bytes(src.read_bytes())
            pics[f"curves_{k}"] = dst
    return pics


def _image_pictures(out, runs, held, data):
    """samples.png: 64 samples of each model side by side; reconstructions.png: the models with an encoder."""
    import numpy as np

    import tinygen as tg
    from .figures import reconstruct
    sets, ranges = {}, {}
    for k, run in runs.items():
        tg.manual_seed(0)
        sets[name(k)] = run.model.sample(64).numpy()
        ranges[name(k)] = run.model.data_range
    pics = {"samples": plots.save_comparison_grid(sets, out / "samples.png", value_range_per_set=ranges, nrow=8,
                                                  title=f"64 samples of each model ({data})")}
    enc = [k for k, run in runs.items() if run.model.has_encoder]
    if enc:
        x = held.x[:12]
        rows = [x] + [np.asarray(reconstruct(runs[k].model, x)).reshape(x.shape) for k in enc]
        pics["reconstructions"] = plots.save_image_grid(
            np.concatenate(rows), out / "reconstructions.png", nrow=12,
            title="held-out images (top), then reconstructed by " + ", ".join(name(k) for k in enc))
    return pics


def _interpolation_pictures(out, runs, held):
    """interpolations_<kind>.png: decodings along straight lines between codes (or draws of z), seed 0."""
    import numpy as np

    import tinygen as tg
    from .figures import interpolation_rows
    pics = {}
    for k, run in runs.items():
        tg.manual_seed(0)
        model = run.model
        if model.has_encoder:
            perm = np.random.default_rng(0).permutation(len(held.x))[:8]
            rows = interpolation_rows(model, held.x[perm], held.y[perm], rows=4, steps=10)
            how = "between the codes of two held-out images"
        else:
            rows = interpolation_rows(model, rows=4, steps=10)
            how = "between two draws of z"
        pics[f"interpolations_{k}"] = plots.save_interpolations(
            rows, out / f"interpolations_{k}.png", value_range=model.data_range or (0, 1),
            title=f"{name(k)}: decoded along straight lines {how}")
    return pics


def _toy_pictures(out, runs, res, held, data):
    """samples.png for 2-D data: 2,500 samples of each model over the real points, with its mode coverage."""
    import tinygen as tg
    from .data import modes
    named = {}
    for k, run in runs.items():
        tg.manual_seed(0)
        ev = res[k]["eval"]
        cover = (f"\n{ev['modes_covered']}/{ev['num_modes']} modes, {ev['high_quality']:.0f}% high quality"
                 if "modes_covered" in ev else "")
        named[f"{name(k)}{cover}"] = run.model.sample(2500).numpy()
    return {"samples": plots.save_toy_grid(named, held.x[:2500], out / "samples.png",
                                           modes=modes(data) if data in ("ring8", "grid25") else None,
                                           title=f"2,500 samples of each model over the real {data} points")}


def _prior_cell(ev):
    est = ev.get("prior_estimator")
    if est == "gaussian_fit_kl":
        return _f(ev.get("prior_distance"), "{:.2f}")
    return "0 (z ~ N(0, I) by construction)" if est == "by_construction" else "—"


def _table(summary):
    res = summary["results"]
    order = in_order(res)
    image = "fd_mnist" in next(iter(res.values()))["eval"]
    prior = "distance from N(0, I): KL of the codes' Gaussian fit (nats)"
    if image:
        head = ["model", "objective", "nets", "training", "steps", "held-out −ELBO / −IWAE (nats)", "FD-MNIST",
                "Inception Score", "digits", "within-digit diversity", "SWD", prior]
    else:
        head = ["model", "objective", "nets", "training", "steps", "modes covered", "high quality",
                "KL(modes ‖ uniform)", "SWD", prior]
    rows = []
    for k in order:
        r, ev = res[k], res[k]["eval"]
        t = f"{r['seconds']:.0f} s" if r.get("seconds") else "—"
        if r.get("seconds") and r.get("cpu_seconds"):
            t += f" (CPU {r['cpu_seconds']:.0f} s)"
        row = [name(k), model_class(k).objective_text or "—", r.get("nets") or "—", t, str(r["steps"])]
        if image:
            lik = (f"{_f(ev.get('heldout_nelbo'), '{:.1f}')} / {_f(ev.get('iwae'), '{:.1f}')}" if k == "vae"
                   else "—")
            row += [lik, _f(ev.get("fd_mnist")), _f(ev.get("inception_score"), "{:.2f}"),
                    f"{ev.get('digits_covered', '—')}/10", _f(ev.get("diversity"), "{:.2f}"),
                    _f(ev.get("swd"), "{:.3f}"), _prior_cell(ev)]
        else:
            row += [f"{ev.get('modes_covered', '—')}/{ev.get('num_modes', '—')}",
                    f"{_f(ev.get('high_quality'))}%", _f(ev.get("mode_kl"), "{:.3f}"), _f(ev.get("swd"), "{:.3f}"),
                    _prior_cell(ev)]
        rows.append(row)
    first = next(iter(res.values()))["eval"]
    if image:
        rows.append(["real data", "(held-out half vs half)", "—", "—", "—", "—", _f(first.get("fd_floor")), "—",
                     "—", "1.00", _f(first.get("swd_floor"), "{:.3f}"), "—"])
    else:
        rows.append(["real data", "(held-out half vs half)", "—", "—", "—", "—", "—", "—",
                     _f(first.get("swd_floor"), "{:.3f}"), "—"])
    return head, rows


def write_report(out, summary):
    """Write report.md and report.html (and the pictures) into ``out``; returns their paths."""
    out = Path(out)
    pics = _pictures(out, summary)
    head, rows = _table(summary)
    text = sentences(summary)
    res = summary["results"]
    budget = (f"{summary['budget_minutes']:g} minutes in all on {summary['workers']} worker(s): each model trains "
              f"until its own clock passes {summary.get('share_seconds', 0):.0f} s, then is evaluated"
              if not any(r.get("run") for r in res.values()) else "existing runs")
    if summary.get("quick"):
        budget = "--quick: 30 steps each, a smoke test"
    intro = (f"# tinygen compare: {', '.join(name(k) for k in in_order(res))} on {summary['data']}\n\n"
             f"Same data, same seed ({summary['seed']}), same budget ({budget}). {summary.get('nets_note', '')} "
             f"Total time {summary['total_seconds'] / 60:.1f} min. Numbers: `tinygen eval` "
             f"(see `tinygen/evaluation.py`); each run folder is in `runs/`.\n")
    md = [intro, "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    md += ["", "## What the numbers say", ""] + [f"- {s}" for s in text] + [""]
    names = [(k, p) for k, p in pics.items()]
    md += ["## Pictures", ""] + [f"![{k}]({Path(p).name})" for k, p in names]
    atomic_write(out / "report.md", lambda f: f.write("\n".join(md) + "\n"), binary=False)

    def img(p):
        data = base64.b64encode(Path(p).read_bytes()).decode()
        return f'<p><img alt="{html.escape(Path(p).stem)}" src="data:image/png;base64,{data}"></p>'
    table = ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" +
             "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
    body = (f"<h1>{html.escape(intro.splitlines()[0][2:])}</h1><p>{html.escape(' '.join(intro.splitlines()[2:]))}</p>"
            + table + "<h2>What the numbers say</h2><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in text)
            + "</ul><h2>Pictures</h2>" + "".join(img(p) for _, p in names))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px;font-size:14px}img{max-width:100%}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>tinygen compare</title><style>{style}"
            f"</style></head><body>{body}</body></html>\n")
    atomic_write(out / "report.html", lambda f: f.write(page), binary=False)
    return {"md": out / "report.md", "html": out / "report.html", "pictures": pics}
