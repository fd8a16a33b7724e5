"""The command line's text output, rendered from the JSON-ready answers of ``archive.answers``,
so a search answered here and one answered by a server print the same lines. Light on imports:
the warm command line renders a server's answer without loading the analyzer or the model."""

from __future__ import annotations

import json
import sys
from typing import Any

from archive.marks import to_plain
from archive.terms import TopTerms


def isolated(text: str, tty: bool) -> str:
    """On a terminal, FSI … PDI around article text keeps right-to-left text from reordering
    what surrounds it; piped output is plain text for the program reading it."""
    return f"\u2068{text}\u2069" if tty else text


def plain(marked_html: str, tty: bool) -> str:
    """Highlighter output as terminal text: matches in bold yellow on a terminal, unmarked
    when piped (``--json`` keeps the marks in ``snippet_html``)."""
    on, off = ("\x1b[1;33m", "\x1b[0m") if tty else ("", "")
    return to_plain(marked_html, on, off)


def _day(published_at: str | None) -> str:
    return published_at[:10] if published_at else "-"


def search(out: dict[str, Any], tty: bool, weaker_listed: bool) -> None:
    """A search answer as the terminal shows it: the timeline and notes first, then the page,
    then the top terms."""
    if "timeline" in out:
        timeline(out, tty)
    for w in out["warnings"]:
        print(f"note: {w}", file=sys.stderr)
    stories = out.get("stories")
    print(
        f"{out['total_text']} results ({out['mode']}, {out['took_ms']:.0f} ms)"
        + (
            f", {stories:,} stories" + ("" if out["stories_exact"] else f" among the first {out['ranked']:,} ranked")
            if stories
            else ""
        )
    )
    if out["weaker"]:
        print(
            f"{out['weaker']} weaker semantic matches below the relevance floor, not counted"
            + (": listed after the results" if weaker_listed else " (--weaker lists them)")
        )
    for i, h in enumerate(out["hits"], (out["page"] - 1) * out["page_size"] + 1):
        why = f"keyword #{h['keyword_rank'] or '-'}, semantic #{h['semantic_rank'] or '-'}, fused {h['fused_score']:.4f}"
        kind = " · weaker match" if h["weak"] else " · semantic match" if h["match"] == "semantic" else ""
        print(f"\n{i}. {isolated(plain(h['title_html'], tty) or h['id'], tty)}")
        print(f"   {_day(h['published_at'])} · {isolated(h['source'] or '-', tty)} · {why}{kind}")
        print(f"   {isolated(plain(h['snippet_html'], tty), tty)}")
        print(f"   id {h['id']} · {h['path'] or h['url']}")
        if h["versions"]:
            print(
                f"   {len(h['versions'])} more version(s) of this story: "
                + "; ".join(f"{v['id']} ({isolated(v['source'] or '-', tty)}, {_day(v['published_at'])})" for v in h["versions"])
            )
    top = out.get("top_terms")
    if top:
        print(f"\ntop terms of {TopTerms.from_dict(top).describe()} (matches holding it · articles holding it):")
        for t in top["terms"]:
            print(f"  {isolated(t['term'], tty)}  {t['matches']:,} · {t['articles']:,}")


def timeline(out: dict[str, Any], tty: bool) -> None:
    """The attention-over-time table of a search answer, with a bar per bucket."""
    series = out["timeline"]
    unit, counted, undated = series["unit"], series["counted"], series["undated"]
    by_stories = unit == "stories"
    stories_of = f" ({counted:,} stories of {out['total']:,} matches, each where its first version was published)"
    print(
        f"timeline by {series['interval']}: matching {unit} of {unit} under the same filters, share"
        + (stories_of if by_stories else "")
        + ("" if out["total_exact"] else f" (a lower bound: {out['total_text']} matches)")
        + (f"; {undated:,} undated {'stories' if by_stories else 'matches'} are not in it" if undated else "")
    )
    by_source = series["by_source"]
    for name, buckets in [(None, series["buckets"]), *by_source.items()]:
        if by_source:
            print(f"\n  {'all sources' if name is None else isolated(name or '(no source)', tty)}")
        top = max((b["matches"] for b in buckets), default=0) or 1
        for b in buckets:
            print(
                f"  {b['start']}  {b['matches']:>7,} of {b['articles']:>7,}  {100 * b['share']:5.1f} %  "
                + "#" * round(30 * b["matches"] / top)
            )
    print()


def job(rec: dict[str, Any], as_json: bool) -> None:
    """A job's outcome: errors and notes on stderr, then the record (``--json``) or one line."""
    for err in rec["errors"]:
        print(f"error: {err}", file=sys.stderr)
    for note in rec["notes"]:
        print(f"note: {note}", file=sys.stderr)
    if rec["message"]:
        print(f"note: {rec['message']}", file=sys.stderr)
    if as_json:
        print(json.dumps(rec, ensure_ascii=False, indent=2))
    elif rec["status"] == "locked":
        print(f"locked: {rec['message']}", file=sys.stderr)
    else:
        verb = "would index" if rec["mode"] == "dry-run" else "indexed"
        print(
            f"{verb} {rec['added']} new, {rec['updated']} updated, {rec['unchanged']} unchanged, {rec['deleted']} deleted, "
            f"{rec['failed']} failed; {rec['passages']} passages embedded in {rec['seconds']:.1f}s "
            f"({rec['mode']}, job {rec['id']})"
        )
        if rec["kept_unreadable"]:
            print(f"kept {rec['kept_unreadable']} indexed article(s) whose files could not be read", file=sys.stderr)
        if rec["generation"]:
            print(
                f"generation {rec['generation']}: {'now active' if rec['switched'] else 'NOT switched to'}"
                + (f"; pruned {', '.join(rec['pruned'])}" if rec["pruned"] else "")
            )


def job_line(r: dict[str, Any]) -> str:
    """One job of the history in one line (``jobs``, ``status``, ``schedule``)."""
    when = str(r.get("started", ""))[:19].replace("T", " ")
    counts = f"+{r.get('added', 0)} ~{r.get('updated', 0)} -{r.get('deleted', 0)} ={r.get('unchanged', 0)} !{r.get('failed', 0)}"
    extra = f" → {r['generation']}{'' if r.get('switched') else ' (not switched)'}" if r.get("generation") else ""
    seconds = float(r.get("seconds") or 0)
    return f"{when}  {r.get('id', '')}  {r.get('mode', ''):<11} {r.get('status', ''):<11} {counts}  {seconds:.1f}s{extra}"


def jobs(records: list[dict[str, Any]], verbose: bool) -> None:
    """The job history, newest first; ``verbose``: each job's errors and message under it."""
    if not records:
        print("no jobs recorded yet")
        return
    print("started (UTC)        job           mode        status      +new ~updated -deleted =unchanged !failed")
    for r in records:
        print(job_line(r))
        if verbose:
            for e in r.get("errors", []):
                print(f"    {e}")
            if r.get("message"):
                print(f"    {r['message']}")


def status(out: dict[str, Any], tty: bool) -> None:
    """What the index holds (``status``), from ``answers.status_json``."""
    print(f"backend   {out['backend']} at {out['location']}")
    print(f"articles  {out['articles']}\npassages  {out['passages']}")
    print(f"model     {out['model']} ({out['dim']}-d), analysis v{out['analysis_version']}, schema v{out['schema_version']}")
    for source, n in out["sources"].items():
        print(f"  {isolated(source or '(no source)', tty)}: {n}")
    for gen in out["generations"]:
        print(
            f"generation {gen['name']}: {gen['articles']} articles"
            + ("  ← active" if gen["active"] else "" if gen["complete"] else "  (incomplete: never switched to)")
        )
    last = out["last_job"]
    print(f"last job  {job_line(last)}" if last else "last job  none recorded")
