"""Real news sources: saved pages without their boilerplate, every encoding, Hijri dates."""

from __future__ import annotations

import datetime as dt
import html
import random
from pathlib import Path

import pytest

from archive.ingest import Notice, Rejected, parse_html, parse_text, read_date, read_file
from archive.ingest.pages import visible_text
from archive.model import Article

from .conftest import SEEDS

PARAS = [
    "أعلن الجيش السوري اليوم سيطرته على أحياء جديدة في شرق مدينة حلب بعد معارك استمرت أسابيع.",
    "وقال مصدر عسكري إن القوات تقدمت من ثلاثة محاور وسط غطاء جوي كثيف، وإن المسلحين انسحبوا نحو الريف الغربي.",
    "وفي السياق ذاته دعت الأمم المتحدة إلى هدنة إنسانية عاجلة تسمح بإجلاء المدنيين والجرحى من المناطق المحاصرة.",
    "ويقدر ناشطون عدد المدنيين الباقين في الأحياء الشرقية بعشرات الآلاف يعيشون في ظروف إنسانية صعبة للغاية.",
]
PLANTED = [
    "الرئيسية",
    "اقتصاد وأعمال",
    "عاجل: مجلس الأمن يعقد جلسة طارئة مساء اليوم",
    "شارك على فيسبوك",
    "اشترك في النشرة البريدية ليصلك كل جديد",
    "الأكثر قراءة",
    "ارتفاع أسعار الذهب في الأسواق المحلية مع بداية تعاملات الأسبوع",
    "مقال رائع جدا وشكرا للكاتب على هذا التحليل العميق",
    "أخبار ذات صلة",
    "وزير الخارجية يلتقي نظيره الروسي في موسكو لبحث آخر التطورات",
    "جميع الحقوق محفوظة لصحيفة الوطن 2016",
]


def news_page() -> str:
    """A saved article page with boilerplate planted all around it (and scripts and styles)."""
    p = PLANTED
    body = "".join(f"<p>{html.escape(x)}</p>" for x in PARAS)
    return f"""<!doctype html><html dir="rtl"><head><meta charset="utf-8">
<title>الجيش يتقدم في حلب | صحيفة الوطن</title>
<meta property="og:site_name" content="صحيفة الوطن">
<meta property="article:published_time" content="2016-12-07T09:30:00+03:00">
<style>.story p {{ color: #333 }}</style><script>var tracker = "UA-1"; document.write("إعلان");</script></head>
<body><header><nav><ul><li><a href="/">{p[0]}</a></li><li><a href="/e">{p[1]}</a></li></ul></nav>
<div class="ticker">{p[2]}</div></header>
<main><article class="story"><h1>الجيش يتقدم في حلب</h1><div class="share"><a href="#">{p[3]}</a></div>
{body}<script>window.ads = ["إعلان مدفوع"];</script>
<div class="newsletter"><p>{p[4]}</p><form><input type="email"><button>اشترك</button></form></div></article>
<aside><h3>{p[5]}</h3><ul><li><a href="/a">{p[6]}</a></li></ul></aside>
<section id="comments"><h3>التعليقات</h3><div class="comment"><p>{p[7]}</p></div></section>
<div class="related"><h3>{p[8]}</h3><ul><li><a href="/r">{p[9]}</a></li></ul></div></main>
<footer><p>{p[10]}</p></footer></body></html>"""


def test_a_saved_page_gives_its_article_and_none_of_the_page_around_it() -> None:
    parsed = parse_html(news_page())
    assert parsed.title == "الجيش يتقدم في حلب"
    assert all(x in parsed.body for x in PARAS), parsed.body
    assert [x for x in PLANTED if x in parsed.body] == []  # menus, ticker, share, sidebar, comments, related, footer
    assert "tracker" not in parsed.body and "color" not in parsed.body and "إعلان" not in parsed.body
    assert "التعليقات" not in parsed.body and parsed.body.count("\n") == len(PARAS) - 1  # one line per paragraph
    assert parsed.published == dt.datetime(2016, 12, 7, 9, 30) and parsed.source == "صحيفة الوطن" and not parsed.notes


def test_a_page_without_an_article_keeps_its_visible_text_and_says_so() -> None:
    parsed = parse_html("<p>سطر واحد من الخبر</p>")
    assert "سطر واحد من الخبر" in parsed.title + parsed.body
    assert any("no article found" in n for n in parsed.notes)
    assert visible_text("<p>خبر</p><script>x=1</script><style>p {}</style><nav>الرئيسية</nav>").strip() == "خبر"


def test_a_page_laid_out_in_a_table_gives_its_cells_as_lines() -> None:
    cells = "".join(f"<tr><td>{p}</td></tr>" for p in PARAS)
    parsed = parse_html(f"<html><body><table>{cells}</table></body></html>")
    assert parsed.body.splitlines() == PARAS and "|" not in parsed.body


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1256", "iso8859_6", "mac_arabic"]


def _encodable(text: str) -> str:
    def ok(ch: str) -> bool:
        try:
            return all(ch.encode(e) is not None for e in ENCODINGS)
        except UnicodeEncodeError:
            return False

    return "".join(ch for ch in text if ok(ch))


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt"))[:3], ids=lambda p: p.stem[:3])
def test_the_same_article_in_eight_encodings_is_stored_identically(seed: Path, tmp_path: Path) -> None:
    text = _encodable(seed.read_text(encoding="utf-8"))
    assert len(text) > 1500  # the article, not a remnant
    stored = {}
    for enc in ENCODINGS:
        d = tmp_path / enc
        d.mkdir()
        (d / "a.txt").write_bytes(text.encode(enc))
        items = list(read_file(d / "a.txt", d, "news"))
        [article] = [i for i in items if isinstance(i, Article)]
        stored[enc] = (article.title, article.body, article.published_at, article.source, article.content_hash)
        notes = [str(i) for i in items if isinstance(i, Notice)]
        if enc in ("cp1256", "iso8859_6", "mac_arabic"):
            assert any("decoded as" in n for n in notes), (enc, notes)  # which legacy encoding was used, said
    assert len(set(stored.values())) == 1, {e: v[1][:60] for e, v in stored.items()}


def test_each_arabic_code_page_is_told_from_the_others(tmp_path: Path) -> None:
    """A wrong code page gives Arabic-looking text with the wrong letters: read each back right."""
    text = _encodable((sorted(SEEDS.glob("*.txt"))[3]).read_text(encoding="utf-8"))
    for enc in ("cp1256", "iso8859_6", "mac_arabic"):
        for length in (300, 1000, len(text)):
            (tmp_path / "a.txt").write_bytes(text[:length].encode(enc))
            [article] = [i for i in read_file(tmp_path / "a.txt") if isinstance(i, Article)]
            assert article.title == text.splitlines()[0].strip(), (enc, length, article.title)


def test_other_scripts_in_legacy_encodings_are_not_read_as_arabic(tmp_path: Path) -> None:
    for text, enc in [
        ("Москва — столица России, крупнейший город страны и её политический центр.", "cp1251"),
        ("Η Αθήνα είναι η πρωτεύουσα και η μεγαλύτερη πόλη της Ελλάδας.", "cp1253"),
    ]:
        (tmp_path / "a.txt").write_bytes(text.encode(enc))
        [article] = [i for i in read_file(tmp_path / "a.txt") if isinstance(i, Article)]
        assert article.title == text, enc


def test_undecodable_bytes_are_refused_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    rng = random.Random(3)
    junk.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4000)))
    [item] = list(read_file(junk))
    assert isinstance(item, Rejected) and str(junk) in str(item) and "cannot read" in str(item)


# Hijri dates as Gulf and Saudi papers write them. The anchors are the Saudi Umm al-Qura dates of
# well-known days (first of Ramadan, Eid al-Fitr on 1 Shawwal, Eid al-Adha on 10 Dhu al-Hijja,
# the Hijri new year); the other rows vary how the date is written.
HIJRI = [
    ("١ رمضان ١٤٤٥ هـ", dt.date(2024, 3, 11)),
    ("1 شوال 1445هـ", dt.date(2024, 4, 10)),
    ("10 ذو الحجة 1445 هـ", dt.date(2024, 6, 16)),
    ("الأحد 1 محرم 1446 هـ", dt.date(2024, 7, 7)),
    ("1 رمضان 1444", dt.date(2023, 3, 23)),
    ("١ شوّال ١٤٤٤ هـ", dt.date(2023, 4, 21)),
    ("10 ذي الحجة 1444 ه", dt.date(2023, 6, 28)),
    ("1 المحرم 1445 هـ", dt.date(2023, 7, 19)),
    ("1/رمضان/1443هـ", dt.date(2022, 4, 2)),
    ("1 شوال 1443 هـ", dt.date(2022, 5, 2)),
    ("10 ذو الحجة 1443 هـ", dt.date(2022, 7, 9)),
    ("1 رمضان 1442 هـ", dt.date(2021, 4, 13)),
    ("1 شوال 1442 هـ", dt.date(2021, 5, 13)),
    ("1 رمضان 1441 هـ", dt.date(2020, 4, 24)),
    ("1 شوال 1441 هـ", dt.date(2020, 5, 24)),
    ("1 رمضان 1437 هـ", dt.date(2016, 6, 6)),
    ("2 رمضان 1445 هـ", dt.date(2024, 3, 12)),  # the day after an anchor
    ("١٤ ربيع الأول ١٤٣٧ هـ", dt.date(2015, 12, 25)),
    ("14 ربيع الاول 1437 هـ", dt.date(2015, 12, 25)),  # without hamza
    ("20 ربيع الآخر 1446 هـ", dt.date(2024, 10, 23)),
    ("20 ربيع الثاني 1446 هـ", dt.date(2024, 10, 23)),  # the month's other name
    ("3 جمادى الأولى 1440 هـ", dt.date(2019, 1, 9)),
    ("17 جمادى الآخرة 1439 هـ", dt.date(2018, 3, 5)),
    ("25 ذو القعدة 1438 هـ", dt.date(2017, 8, 17)),
    ("15 شعبان 1436 هـ", dt.date(2015, 6, 2)),
]


@pytest.mark.parametrize(("written", "day"), HIJRI)
def test_hijri_dates_become_gregorian(written: str, day: dt.date) -> None:
    read = read_date(written)
    assert read.when is not None and read.when.date() == day, (written, read)
    assert read.hijri and "Hijri, read as" in read.note


def test_hijri_dates_that_cannot_be_read_say_why() -> None:
    assert read_date("3 ذي الحجة 1300 هـ").when is None and "Umm al-Qura" in read_date("3 ذي الحجة 1300 هـ").note
    assert read_date("30 صفر 1437 هـ").when is None and "no day of the calendar" in read_date("30 صفر 1437 هـ").note
    assert read_date("5 رمضان 2016").when is None  # a Gregorian year: not a Hijri date
    assert read_date("الخميس ١٥ محرم ١٤٤٦ هـ - ١٠:٣٠ ص").when == dt.datetime(2024, 7, 21, 10, 30)


def test_both_calendars_in_one_line_keep_the_gregorian_date() -> None:
    agree = read_date("الخميس 14 ربيع الأول 1437هـ الموافق 24 ديسمبر 2015م")
    assert agree.when == dt.datetime(2015, 12, 24) and agree.note == ""  # a day apart: a moon sighting, not a typo
    disagree = read_date("14 ربيع الأول 1437 هـ الموافق 5 يناير 2016 م")
    assert disagree.when == dt.datetime(2016, 1, 5) and "disagree" in disagree.note


def test_a_hijri_dateline_dates_the_article_and_the_record_keeps_it_as_written() -> None:
    parsed = parse_text(
        "مجلس الوزراء يقر الميزانية\nالأحد ١٤ ربيع الأول ١٤٣٧ هـ\nأقر مجلس الوزراء اليوم الميزانية العامة للدولة.\nواس"
    )
    assert parsed.published == dt.datetime(2015, 12, 25) and parsed.source == "واس"
    assert "١٤ ربيع الأول ١٤٣٧ هـ" in parsed.notes[0] and "2015-12-25" in parsed.notes[0]
    assert "ربيع" not in parsed.body  # the dateline is metadata, not text
