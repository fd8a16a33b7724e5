"""The query language: a parse table (every operator, nesting, Arabic and English, malformed
input), what is embedded, what is highlighted, and the limits. The result sets themselves are
checked against a brute-force evaluator on both backends in ``test_query_oracle.py``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.highlight import highlight_all
from archive.query import MAX_CLAUSES, MAX_NESTING, Bool, Fuzzy, Node, Phrase, Prefix, Term, constraint, parse


def show(node: Node | None) -> str:
    """A tree in one line: (+must should -must_not), T: a title leaf, ~N slop or edits."""
    if node is None:
        return "∅"
    if isinstance(node, Bool):
        parts = [f"+{show(c)}" for c in node.must] + [show(c) for c in node.should] + [f"-{show(c)}" for c in node.must_not]
        return "(" + " ".join(parts) + ")"
    title = "T:" if node.field == "title" else ""
    if isinstance(node, Term):
        return title + node.stem
    if isinstance(node, Phrase):
        return title + '"' + " ".join(node.terms) + '"' + (f"~{node.slop}" if node.slop else "")
    if isinstance(node, Prefix):
        return f"{title}{node.prefix}*"
    assert isinstance(node, Fuzzy)
    return f"{title}{node.stem}~{node.distance}"


# (query, default operator, tree ; filters, number of warnings)
QUERIES = [
    ("الجيش السوري", "OR", "(جيش سوريا)", 0),
    ('"الجيش السوري"', "OR", '(+"الجيش السوري")', 0),
    ("«حزب الله»", "OR", '(+"حزب الله")', 0),
    ("“الجيش السوري”", "OR", '(+"الجيش السوري")', 0),
    ("روسيا OR إيران", "OR", "(روسيا ايران)", 0),
    ("روسيا | تركيا", "OR", "(روسيا تركيا)", 0),
    ("روسيا|تركيا", "OR", "(روسيا تركيا)", 0),
    ("روسيا || تركيا", "OR", "(روسيا تركيا)", 0),
    ("روسيا AND إيران", "OR", "(+روسيا +ايران)", 0),
    ("روسيا && إيران", "OR", "(+روسيا +ايران)", 0),
    ("روسيا+إيران", "OR", "(+روسيا +ايران)", 0),
    ("روسيا +إيران", "OR", "(+ايران روسيا)", 0),
    ("حلب -داعش", "OR", "(حلب -داعش)", 0),
    ("حلب NOT داعش", "OR", "(حلب -داعش)", 0),
    ("حلب AND NOT داعش", "OR", "(+حلب -داعش)", 0),
    ('حلب -"حزب الله"', "OR", '(حلب -"حزب الله")', 0),
    ("+حلب روسيا", "OR", "(+حلب روسيا)", 0),
    ("c +(روسيا | إيران)", "OR", "(+(روسيا ايران) c)", 0),
    ("حلب +-داعش", "OR", "(حلب -داعش)", 1),
    ("حلب -+داعش", "OR", "(حلب -داعش)", 1),
    ('(روسيا OR إيران) AND "حلب" NOT داعش', "OR", '((+(روسيا ايران) +"حلب") -داعش)', 0),
    ("(روسيا OR إيران) حلب", "OR", "(روسيا ايران حلب)", 0),
    ("روسيا إيران OR تركيا", "OR", "(روسيا ايران تركيا)", 0),
    ("روسيا AND إيران OR تركيا", "OR", "((+روسيا +ايران) تركيا)", 0),
    ("روسيا OR إيران AND تركيا", "OR", "(روسيا (+ايران +تركيا))", 0),
    ("NOT روسيا", "OR", "(-روسيا)", 0),
    ("-روسيا", "OR", "(-روسيا)", 0),
    ("NOT NOT روسيا", "OR", "(+روسيا)", 0),
    ("NOT (NOT روسيا)", "OR", "(+روسيا)", 0),
    ("حلب AND (NOT داعش)", "OR", "(+حلب -داعش)", 0),
    ("حلب (NOT داعش)", "OR", "(حلب -داعش)", 0),
    ("حلب OR NOT داعش", "OR", "(حلب -داعش)", 0),
    ("NOT (داعش OR النصرة) حلب", "OR", "(حلب -(داعش نصره))", 0),
    ("-(داعش النصرة) حلب", "OR", "(حلب -(داعش نصره))", 0),
    ("((روسيا OR إيران) AND (حلب OR إدلب)) -داعش", "OR", "((+(روسيا ايران) +(حلب ادلب)) -داعش)", 0),
    ("(((((حلب)))))", "OR", "حلب", 0),
    ("((حلب", "OR", "حلب", 1),
    ("حلب))", "OR", "حلب", 1),
    ("()", "OR", "∅", 1),
    ("( )", "OR", "∅", 1),
    ("حلب ()", "OR", "حلب", 1),
    ("سوري*", "OR", "سوري*", 0),
    ("-سوري*", "OR", "(-سوري*)", 0),
    ("سوري* AND حلب", "OR", "(+سوري* +حلب)", 0),
    ("*", "OR", "∅", 0),
    ("سوخوي-34", "OR", '"سوخوي 34"', 0),
    ("سوخوي-34*", "OR", '"سوخوي 34"', 1),
    ('"الجيش السوري"~3', "OR", '(+"الجيش السوري"~3)', 0),
    ('"بوتين الأسد"~5', "OR", '(+"بوتين الاسد"~5)', 0),
    ("«بوتين الأسد»~2", "OR", '(+"بوتين الاسد"~2)', 0),
    ('"الجيش السوري"~', "OR", '(+"الجيش السوري")', 1),
    ('"الجيش السوري"~999', "OR", '(+"الجيش السوري"~50)', 1),
    ('"الجيش"~2', "OR", '(+"الجيش"~2)', 0),
    ("لافروف~", "OR", "افروف~1", 0),
    ("لافروف~1", "OR", "افروف~1", 0),
    ("لافروف~2", "OR", "افروف~2", 0),
    ("لافروف~5", "OR", "افروف~2", 1),
    ("لافروف~0", "OR", "افروف", 0),
    ("حلب~1", "OR", "حلب~1", 0),
    ("title:روسيا", "OR", "T:روسيا", 0),
    ("TITLE:روسيا", "OR", "T:روسيا", 0),
    ('title:"الجيش السوري"', "OR", '(+T:"جيش سوريا")', 0),
    ("title:(روسيا OR إيران)", "OR", "(T:روسيا T:ايران)", 0),
    ("title:سوري*", "OR", "T:سوري*", 0),
    ("title:لافروف~1", "OR", "T:افروف~1", 0),
    ("-title:داعش", "OR", "(-T:داعش)", 0),
    ("title:", "OR", "∅", 1),
    ("title: روسيا", "OR", "روسيا", 1),
    ("source:العربية حلب", "OR", "حلب ; source=العربية", 0),
    ('source:"روسيا اليوم" حلب', "OR", "حلب ; source=روسيا اليوم", 0),
    ("source:", "OR", "∅", 1),
    ("-source:العربية حلب", "OR", "حلب", 1),
    ("from:2015-01-01 to:2015-12-31 حلب", "OR", "حلب ; from=2015-01-01 ; to=2015-12-31", 0),
    ("from:2015-02-30 حلب", "OR", "حلب", 1),
    ("to:9999-12-31 حلب", "OR", "حلب ; to=9999-12-31", 0),
    ("from:", "OR", "∅", 1),
    ("body:حلب", "OR", '"body حلب"', 1),
    ("http://example.com/a:b", "OR", "http://example.com/a:b", 0),
    ("10:30 حلب", "OR", '("10 30" حلب)', 0),
    ("war or peace", "OR", "(war peace)", 0),
    ("war and peace", "OR", "(war peace)", 0),
    ("war not peace", "OR", "(war not peace)", 0),
    ("Russia AND Iran", "OR", "(+russia +iran)", 0),
    ("russia OR iran", "OR", "(russia iran)", 0),
    ("NOT", "OR", "∅", 1),
    ("AND", "OR", "∅", 1),
    ("OR", "OR", "∅", 1),
    ("AND حلب", "OR", "حلب", 1),
    ("حلب AND", "OR", "حلب", 1),
    ("حلب OR", "OR", "حلب", 1),
    ("حلب AND OR إيران", "OR", "(حلب ايران)", 1),
    ("OR | -", "OR", "∅", 2),
    ("-", "OR", "∅", 1),
    ("+", "OR", "∅", 1),
    ("+ -", "OR", "∅", 2),
    ("في من", "OR", "∅", 0),
    ('"unbalanced', "OR", '(+"unbalanced")', 1),
    ('حلب "الجيش السوري', "OR", '(+"الجيش السوري" حلب)', 1),
    ("«غير مغلق", "OR", '(+"غير مغلق")', 1),
    ('"الجيش" "السوري"', "OR", '(+"الجيش" +"السوري")', 0),
    ("a", "OR", "∅", 0),
    ("روسيا إيران", "AND", "(+روسيا +ايران)", 0),
    ("روسيا إيران OR تركيا", "AND", "(+روسيا +(ايران تركيا))", 0),
    ("حلب -داعش", "AND", "(+حلب -داعش)", 0),
    ("روسيا OR إيران", "AND", "(روسيا ايران)", 0),
    ('"الجيش السوري" حلب', "AND", '(+"الجيش السوري" +حلب)', 0),
    ("(روسيا إيران) OR تركيا", "AND", "((+روسيا +ايران) تركيا)", 0),
]


@pytest.mark.parametrize("text,default,expected,warnings", QUERIES)
def test_parse_table(text: str, default: str, expected: str, warnings: int) -> None:
    q = parse(text, default=default)  # type: ignore[arg-type]
    extra = (
        ([f"source={','.join(q.sources)}"] if q.sources else [])
        + ([f"from={q.date_from}"] if q.date_from else [])
        + ([f"to={q.date_to}"] if q.date_to else [])
    )
    assert show(q.tree) + ("" if not extra else " ; " + " ; ".join(extra)) == expected
    assert len(q.warnings) == warnings, q.warnings


def test_the_table_covers_the_language() -> None:
    assert len(QUERIES) >= 80
    typed = " ".join(t for t, *_ in QUERIES)
    for op in ("AND", "OR", "NOT", "|", "&&", "+", "-", "(", ")", '"', "«", "~", "*", "title:", "source:", "from:", "to:"):
        assert op in typed, op


def test_warnings_say_what_was_not_understood() -> None:
    assert parse("حلب AND").warnings == ["ignored AND with nothing after it"]
    assert parse("body:حلب").warnings[0].startswith("body: is not a field")
    assert "cut to ~2" in parse("لافروف~7").warnings[0]
    assert parse("http://example.com/x").warnings == []  # a URL is not a field


def test_semantic_text_is_the_positive_words_in_the_order_typed() -> None:
    assert parse('"الجيش السوري" -داعش source:X حلب* | ايران').semantic_text == "الجيش السوري حلب ايران"
    assert parse("NOT (داعش OR النصرة) حلب title:روسيا لافروف~1").semantic_text == "حلب روسيا لافروف"
    assert parse("NOT (NOT روسيا)").semantic_text == "روسيا"  # a double negation is positive
    assert parse("-داعش NOT النصرة").semantic_text == ""
    assert parse("-(-روسيا AND حلب)").semantic_text == ""  # exclusions alone: a listing, nothing to embed
    assert parse("في من").semantic_text == "في من" and parse("The Who").semantic_text == "The Who"  # stop words alone


def test_constraint_is_what_semantic_hits_must_obey() -> None:
    assert constraint(parse("روسيا إيران").tree) is None  # optional words only rank
    assert constraint(parse("إمكانية").tree) is None  # one word too (semantic mode found only keyword matches)
    assert show(constraint(parse("روسيا -داعش").tree)) == "(-داعش)"
    assert show(constraint(parse("(روسيا OR إيران) AND حلب NOT داعش").tree)) == "(+(+(روسيا ايران) +حلب) -داعش)"
    assert show(constraint(parse('"الجيش السوري"').tree)) == '(+"الجيش السوري")'
    assert show(constraint(parse("روسيا إيران", default="AND").tree)) == "(+روسيا +ايران)"


def test_limits_deep_nesting_and_long_queries_never_raise() -> None:
    q = parse("(" * 400 + "حلب" + ")" * 400)
    assert show(q.tree) == "حلب" and any(str(MAX_NESTING) in w for w in q.warnings)
    q = parse(" ".join(f"كلمة{i}" for i in range(100)))
    assert isinstance(q.tree, Bool) and len(q.tree.should) == MAX_CLAUSES
    assert any(f"first {MAX_CLAUSES}" in w for w in q.warnings)
    q = parse("حلب " * 2000)
    assert any("first" in w for w in q.warnings)
    q = parse("from:2015-02-30 to:2014-01-01 from:2016-01-01")
    assert q.date_from and q.date_to and q.date_from < q.date_to
    assert any("2015-02-30" in w for w in q.warnings)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(alphabet=st.sampled_from(list('روسياحلب xyz"«»()|+-*~:&ANDORT12')), max_size=120), st.text(max_size=80)))
def test_parser_never_raises_and_trees_are_sound(text: str) -> None:
    q = parse(text)
    assert isinstance(q.semantic_text, str)

    def sound(node: Node, root: bool) -> None:
        if isinstance(node, Bool):
            assert root or node.positive, "only the root may lack positive clauses"
            for child in (*node.must, *node.should, *node.must_not):
                sound(child, False)

    if q.tree is not None:
        sound(q.tree, True)


def test_highlight_marks_exactly_the_positive_leaves() -> None:
    text = "قال الجيش السوري إن روسيا دعمت الجيش في حلب"
    assert highlight_all(text, parse('"الجيش حلب"~3 OR روس* -دعمت')) == (
        "قال الجيش السوري إن <mark>روسيا</mark> دعمت <mark>الجيش</mark> في <mark>حلب</mark>"
    )  # the first الجيش is 7 words away
    assert highlight_all(text, parse("الجيش NOT (NOT حلب) -روسيا")).count("<mark>") == 3
    assert "<mark>" not in highlight_all(text, parse("title:روسيا"))  # a body is not a title
    assert highlight_all(text, parse("title:روسيا"), title=True).count("<mark>") == 1


class _Shown:
    """A builder that writes the backend query as text, to check the walk's shape."""

    def match(self, column: str, terms, boost: float = 1.0) -> str:
        return f"{column}:[{' '.join(terms)}]" + (f"^{boost:g}" if boost != 1.0 else "")

    def phrase(self, column: str, terms, slop: int) -> str:
        return f'{column}:"{" ".join(terms)}"~{slop}'

    def boolean(self, must, should, must_not) -> str:
        return "(" + " ".join([*(f"+{m}" for m in must), *should, *(f"-{n}" for n in must_not)]) + ")"


def test_the_walk_merges_alternative_words_into_one_match_per_column() -> None:
    """Any of several words is one multi-term match per column (LanceDB runs it far faster than
    a boolean of one match per word, with the same BM25 sum); phrases, groups and the title's
    own column stay apart, and a repeated word is searched once."""
    from archive.store.walk import build

    shown = build(parse('روسيا OR إيران OR روسيا OR title:حلب OR "حزب الله" -داعش -تركيا').tree, _Shown())
    assert shown == (
        '(exact:"حزب الله"~0 (stem:[روسيا ايران] title_stem:[روسيا ايران]^2) title_stem:[حلب]'
        " -(stem:[داعش تركيا] title_stem:[داعش تركيا]^2))"
    )
    assert build(parse("+روسيا +إيران").tree, _Shown()).count("stem:[") == 4  # required words stay apart
