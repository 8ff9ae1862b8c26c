"""``report.html``: one self-contained page (inline SVG scatter, tables, videos as data URIs) and ``scatter.png``.

The page needs no network and no files beside it, so it can be mailed or attached to a CI run. Each video gets
``data-ready="1"`` and its decoded width once the browser has decoded a frame: the headless-browser test reads
that back from the DOM.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

SIZE, MARGIN = 420, 50


def _xy(rate: float) -> float:
    return MARGIN + rate * (SIZE - 2 * MARGIN)


def scatter_svg(report: dict) -> str:
    """World-model (y) vs simulator (x) success with Wilson intervals in both directions and the y = x line."""
    top = SIZE - MARGIN
    parts = [f'<svg id="scatter" xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
             f'viewBox="0 0 {SIZE} {SIZE}" role="img" aria-label="world model vs simulator success">',
             f'<rect x="{MARGIN}" y="{MARGIN}" width="{SIZE - 2 * MARGIN}" height="{SIZE - 2 * MARGIN}" '
             'fill="none" stroke="#999"/>',
             f'<line class="identity" x1="{MARGIN}" y1="{top}" x2="{top}" y2="{MARGIN}" stroke="#888" '
             'stroke-dasharray="4 4"/>']
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{_xy(tick)}" y="{top + 16}" font-size="11" text-anchor="middle">{tick:g}</text>')
        parts.append(f'<text x="{MARGIN - 6}" y="{SIZE - _xy(tick) + 4}" font-size="11" '
                     f'text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{SIZE / 2}" y="{SIZE - 10}" font-size="12" text-anchor="middle">simulator success</text>')
    parts.append(f'<text x="14" y="{SIZE / 2}" font-size="12" text-anchor="middle" '
                 f'transform="rotate(-90 14 {SIZE / 2})">world-model success</text>')
    for i, p in enumerate(report["outcomes"]["policies"]):
        x, y = p["simulator"]["rate"], p["world_model"]["rate"]
        (xl, xh), (yl, yh) = p["simulator"]["wilson95"], p["world_model"]["wilson95"]
        cx, cy = _xy(x), SIZE - _xy(y)
        parts.append(f'<line x1="{_xy(xl)}" y1="{cy}" x2="{_xy(xh)}" y2="{cy}" stroke="#36c"/>')
        parts.append(f'<line x1="{cx}" y1="{SIZE - _xy(yl)}" x2="{cx}" y2="{SIZE - _xy(yh)}" stroke="#36c"/>')
        parts.append(f'<circle class="policy" cx="{cx}" cy="{cy}" r="4" fill="#c33"><title>'
                     f'{html.escape(p["policy"])}: simulator {x:.2f}, world model {y:.2f}</title></circle>')
        parts.append(f'<text x="{cx + 6}" y="{cy - 6}" font-size="10">{i + 1}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_scatter_png(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    ax.plot([0, 1], [0, 1], "--", color="0.5", label="y = x")
    for i, p in enumerate(report["outcomes"]["policies"]):
        x, y = p["simulator"]["rate"], p["world_model"]["rate"]
        (xl, xh), (yl, yh) = p["simulator"]["wilson95"], p["world_model"]["wilson95"]
        ax.errorbar(x, y, xerr=[[x - xl], [xh - x]], yerr=[[y - yl], [yh - y]], fmt="o", capsize=3,
                    label=f"{i + 1}: {p['policy']}")
    s = report["summary"]
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="simulator success", ylabel="world-model success",
           title=f"Pearson r = {_fmt(s['pearson_r']['value'], 2)}, MMRV = {_fmt(s['mmrv']['value'], 3)}")
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _interval(entry: dict) -> str:
    low, high = entry["low"], entry["high"]
    return f"{_fmt(entry['value'])} [{_fmt(low)}, {_fmt(high)}]"


def _video(path: Path, label: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<figure><video class="episode" muted loop autoplay playsinline '
            f'src="data:video/mp4;base64,{data}"></video><figcaption>{html.escape(label)}</figcaption></figure>')


def write_html(report: dict, out: Path, path: Path) -> None:
    s, protocol = report["summary"], report["protocol"]
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{html.escape(p['policy'])}</td><td>{_fmt(p['simulator']['rate'], 2)} "
        f"[{_fmt(p['simulator']['wilson95'][0], 2)}, {_fmt(p['simulator']['wilson95'][1], 2)}]</td>"
        f"<td>{_fmt(p['world_model']['rate'], 2)} [{_fmt(p['world_model']['wilson95'][0], 2)}, "
        f"{_fmt(p['world_model']['wilson95'][1], 2)}]</td><td>{p['rank']['simulator']}</td>"
        f"<td>{p['rank']['world_model']}</td><td>{_fmt(p['agreement']['agreement'], 2)}</td>"
        f"<td>{p['agreement']['false_success']}</td><td>{p['agreement']['false_failure']}</td></tr>"
        for i, p in enumerate(report["outcomes"]["policies"]))
    videos = "".join(
        f'<div class="pair"><h3>{html.escape(v["policy"])}, seed {v["seed"]}</h3>'
        + _video(out / v["world_model"], f"imagined (world model says {'success' if v['verdict_world_model'] else 'failure'})")
        + _video(out / v["simulator"], f"simulated (simulator says {'success' if v['verdict_simulator'] else 'failure'})")
        + "</div>" for v in report["videos"])
    cost = report["cost"]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Offline policy evaluation: {html.escape(report['task'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}} .pair{{display:inline-block;margin:0 1em 1em 0}}
figure{{display:inline-block;margin:0 .5em}} video{{height:384px}} pre{{font-size:11px;background:#f6f6f6}}</style>
</head><body>
<h1>Offline policy evaluation</h1>
<p>Task: {html.escape(report['task'])} World model: {html.escape(str(protocol['world_model'].get('name')))};
success detector: {html.escape(str(protocol['detector']['name']))} (threshold {_fmt(protocol['detector']['threshold'])}).
{len(protocol['seeds_used'])} of {protocol['seeds_planned']} planned seeds per policy in both envs,
{protocol['episode_length']} steps per episode.</p>
<p>Pearson r = {_interval(s['pearson_r'])}; Spearman rho = {_interval(s['spearman_rho'])};
MMRV = {_interval(s['mmrv'])} (bootstrap 95 % over seeds). Per-episode agreement {_fmt(s['agreement']['agreement'])},
false-success rate {_fmt(s['agreement']['false_success_rate'])}. World-model env
{_fmt(cost['world_model']['episodes_per_minute'], 1)} episodes/min vs simulator
{_fmt(cost['simulator']['episodes_per_minute'], 1)} ({_fmt(cost['world_model_speedup'], 2)}x).</p>
{scatter_svg(report)}
<h2>Ranks</h2>
<table id="ranks"><tr><th>#</th><th>policy</th><th>simulator success [Wilson 95 %]</th>
<th>world-model success</th><th>rank (sim)</th><th>rank (world model)</th><th>agreement</th>
<th>false success</th><th>false failure</th></tr>{rows}</table>
<h2>Imagined vs simulated</h2><p>Views top to bottom: wrist, exterior 1, exterior 2.</p>
<div id="videos">{videos}</div>
<h2>Protocol</h2><pre>{html.escape(json.dumps({k: v for k, v in protocol.items() if k != 'seeds'}, indent=1))}</pre>
<script>for (const v of document.querySelectorAll('video')) {{
  const mark = () => {{ if (v.videoWidth > 0) {{ v.dataset.ready = '1'; v.dataset.width = v.videoWidth; }} }};
  v.addEventListener('loadeddata', mark); mark(); }}</script>
</body></html>
"""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(page)
    tmp.replace(path)
