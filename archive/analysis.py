"""Arabic text analysis: the single source of truth for every index and every query.

Both stores index the terms produced here, the search service parses queries with them and
the highlighter marks original words by their offsets, so ranking and highlighting are the
same whatever the backend (docs/architecture.md, decisions 1-2).

Pipeline per token of the ORIGINAL text:
  tokenize (letters+marks runs, numbers, URLs; offsets into the original)
  -> normalize  (NFKC, marks/tatweel/controls removed, letter variants folded, digits ASCII,
                 Latin case-folded)               => the `exact` term
  -> stop words removed, light stemming           => the `stem` term ('' for stop words)

Two analyzer modes exist: ``Analyzer()`` (ours, the default) and ``Analyzer(mode="lucene")``,
which reproduces Lucene's ArabicAnalyzer normalization + light10 stemmer as the baseline the
benchmark compares against.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Literal, NamedTuple

import pyarabic.araby as araby

from archive import lexicon

# Stored with every index; a change forces a full rebuild. Bump it when index terms or the text
# the encoder reads (``embedding_text``) change. 2: vectors embed diacritic-free text. 3: clitics
# stripped by the lexicon, names kept whole, stop words matched before folding, Uthmani read.
ANALYSIS_VERSION = "3"
# The digest of the lexicon version 3 was built on (``archive.lexicon``): a test fails when a
# package upgrade changes it, since stems would change under an index that records "3".
LEXICON_FINGERPRINT = "4f6933f989"

Mode = Literal["ours", "lucene"]
HamzaRule = Literal["keep", "fold", "hamza"]


class Token(NamedTuple):
    """One analyzed token. ``start``/``end`` slice the original text to ``surface``."""

    surface: str
    start: int
    end: int
    position: int
    exact: str
    stem: str  # '' when the token is a stop word


# --------------------------------------------------------------------------- characters
_HAMZA_SEATS = {"\u0624": "\u0648", "\u0626": "\u064a"}  # ؤ -> و, ئ -> ي  (rule "fold")
_ALEFS = "\u0622\u0623\u0625\u0671\u0672\u0673"  # آ أ إ ٱ ٲ ٳ
_YEHS = "\u0649\u06cc\u06d0\u06d2\u06d3"  # ى ی ې ے ۓ
_HEHS = "\u0629\u06c0\u06c1\u06c2\u06c3\u06be\u06d5"  # ة ۀ ہ ۂ ۃ ھ ە
_KAFS = "\u06a9\u06aa"  # ک ڪ
_CONTROLS = (
    [0x00AD, 0x061C, 0x180E, 0xFEFF]
    + list(range(0x200B, 0x2010))
    + list(range(0x202A, 0x202F))
    + list(range(0x2060, 0x2065))
    + list(range(0x2066, 0x206A))
)


def _arabic_marks() -> list[int]:
    """Every combining mark of the Arabic blocks, the Quranic annotation signs and tatweel.

    pyarabic's TASHKEEL set covers only the harakat; Uthmani text also carries U+0670, U+06D6-06ED
    and the U+08xx extended marks, which must not survive into index terms.
    """
    cps = {ord(c) for c in araby.TASHKEEL} | {ord(araby.TATWEEL), 0x0670, 0x0674}
    cps |= set(range(0x0610, 0x061B)) | set(range(0x064B, 0x0660)) | set(range(0x06D6, 0x06EE))
    for cp in list(range(0x0600, 0x0900)) + list(range(0x08A0, 0x0900)):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me"):
            cps.add(cp)
    return sorted(cps)


_MARKS = _arabic_marks()
_EMBED_TABLE: dict[int, str | None] = {cp: None for cp in _MARKS} | {0x0671: "\u0627"}  # alef wasla -> alef


def embedding_text(text: str) -> str:
    """The text the encoder reads: NFC, Arabic diacritics, Quranic marks and tatweel removed.

    Fully vocalized text costs multilingual-e5 about 3.5x the tokens of bare text (hadiths: median
    329 vs 94 tokens, 20 % past the 512-token window) and reads as fragments to a model trained
    on bare text: on a 3,000-hadith slice, English -> Arabic MRR@10 went from 0.03 to 0.32 with
    marks removed (README, quality). Letters stay as written (no hamza or ya folding): the model
    knows real spelling, and the index terms, not the vectors, handle spelling variants.
    """
    return unicodedata.normalize("NFC", text).translate(_EMBED_TABLE)


def written(word: str) -> str:
    """A word as it is written, for display (top terms): what the encoder reads, without the
    invisible controls either; letters are not folded."""
    return embedding_text(word).translate(_NO_CONTROLS)


def _digit_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x0080, 0x20000):
        ch = chr(cp)
        if unicodedata.category(ch) == "Nd":
            table[cp] = str(unicodedata.digit(ch))
    table[0x066B] = "."  # Arabic decimal separator
    table[0x066C] = ","  # Arabic thousands separator
    return table


_DIGITS = _digit_table()


def _ours_table(hamza: HamzaRule) -> dict[int, str | None]:
    table: dict[int, str | None] = {cp: None for cp in _MARKS + _CONTROLS}
    table.update(_DIGITS)
    table.update({ord(c): "\u0627" for c in _ALEFS})
    table.update({ord(c): "\u064a" for c in _YEHS})
    table.update({ord(c): "\u0647" for c in _HEHS})
    table.update({ord(c): "\u0643" for c in _KAFS})
    if hamza == "fold":
        table.update({ord(k): v for k, v in _HAMZA_SEATS.items()})
    elif hamza == "hamza":
        table.update({ord(k): "\u0621" for k in _HAMZA_SEATS})
    return table


def _light_table() -> dict[int, str | None]:
    """Marks, controls and digits as in normalization; letters as written (keheh and Farsi yeh
    are glyph variants, alef wasla an Uthmani alef)."""
    table: dict[int, str | None] = {cp: None for cp in _MARKS + _CONTROLS}
    table.update(_DIGITS)
    table.update({0x0671: "\u0627", 0x06CC: "\u064a"})
    table.update({ord(c): "\u0643" for c in _KAFS})
    return table


# --------------------------------------------------------------------------- Uthmani script
# The Uthmani (Quranic) script writes a long a as a dagger alef over the letter (ٱلْكِتَٰبُ = الكتاب),
# over a silent waw seat (ٱلصَّلَوٰةِ = الصلاة), and آ as ءا (ءَامَنُوا = آمنوا). Read as alef, the
# words meet their simple spelling; the words whose simple spelling also omits the alef stay as they
# are (هذا, ذلك, لكن, الرحمن, أولئك, إله …).
_DAGGER = "\u0670"
_HARAKAT = "\u064b-\u0652"
_SKELETON = str.maketrans("آأإٱىةؤئ", "اااايهءء")
_DAGGER_KEPT = frozenset(
    w.translate(_SKELETON)
    for w in "هذا هذه هذان هذين هؤلاء ذلك ذلكم ذلكما ذلكن أولئك أولئكم لكن لكنا لكنه لكنهم لكنكم رحمن الرحمن "
    "إله إلها إلهكم إلهنا إلههم الله اللهم لله طه".split()
)
_CLITIC_HEADS = ("", "و", "ف", "ب", "ل", "ك", "أ", "وب", "ول", "فل", "وك", "فك", "أف", "أو", "ال", "وال", "فال", "لل")
_INITIAL_HAMZA_ALEF = re.compile(rf"(?<!\S)([وفبلك{_HARAKAT}]{{0,4}})ء[{_HARAKAT}]*ا")
_UTHMANI_MARKS = re.compile(r"[\u0671\u0670\u06d6-\u06ed]")
_WORD_RUN = re.compile(r"\S+")
_MARK_RUN = re.compile(rf"[{_HARAKAT}\u0653-\u065f\u06d6-\u06ed\u0640]")


def _read_word(word: str) -> str:
    skeleton = _MARK_RUN.sub("", word).replace(_DAGGER, "").translate(_SKELETON)
    for head in _CLITIC_HEADS:
        if skeleton.startswith(head) and skeleton[len(head) :] in _DAGGER_KEPT:
            return word
    if _DAGGER in word:
        word = word.replace("\u0640", "")
        word = re.sub(rf"\u0648{_DAGGER}", "\u0627", word)  # silent waw seat: ٱلصَّلَوٰة
        word = re.sub(rf"\u0649{_DAGGER}", "\u0649", word)  # alef maqsura already reads a
        word = re.sub(rf"([\u0621-\u064a\u0671-\u06d3])([{_HARAKAT}\u0653-\u065f\u06d6-\u06ed]*){_DAGGER}", "\\1\\2\u0627", word)
    return re.sub(rf"\u0621[{_HARAKAT}]*\u0627", "\u0627", word)  # ءا -> ا (آ)


def read_uthmani(text: str) -> str:
    """Text with Uthmani spellings read as their simple-script letters (unchanged elsewhere). A
    word that opens with ءا (after its clitics) is Uthmani wherever it stands: modern spelling
    never starts a word so."""
    if "\u0621" in text:
        text = _INITIAL_HAMZA_ALEF.sub("\\1\u0627", text)
    if not _UTHMANI_MARKS.search(text):
        return text
    return _WORD_RUN.sub(lambda m: _read_word(m.group()) if _UTHMANI_MARKS.search(m.group()) else m.group(), text)


def _lucene_table() -> dict[int, str | None]:
    """Lucene's ArabicNormalizer (+ DecimalDigitFilter): nothing more, nothing less."""
    table: dict[int, str | None] = {cp: None for cp in range(0x064B, 0x0653)}
    table[0x0640] = None
    table.update({0x0622: "\u0627", 0x0623: "\u0627", 0x0625: "\u0627"})
    table[0x0649] = "\u064a"
    table[0x0629] = "\u0647"
    table.update({cp: d for cp, d in _DIGITS.items() if len(d) == 1 and d.isdigit()})
    return table


# --------------------------------------------------------------------------- tokenizer
def _char_class(pred: str) -> str:
    """A regex character class of the code points whose category starts with one of ``pred``."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x30000):
        if unicodedata.category(chr(cp))[0] in pred and not chr(cp).isdigit():
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    parts = []
    for lo, hi in ranges:
        parts.append(re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}")
    return "".join(parts)


# Invisible controls (ZWNJ, ZWJ, soft hyphen, bidi marks) stay inside a word and vanish from its
# terms; the query parser deletes the same set, so a word typed with one finds itself.
IN_WORD_CONTROLS = frozenset(chr(c) for c in _CONTROLS if c != 0xFEFF)
_NO_CONTROLS: dict[int, str | None] = {c: None for c in _CONTROLS}
_CONTROL_CLASS = "".join(re.escape(c) for c in sorted(IN_WORD_CONTROLS))
_LETTER = _char_class("LM") + _CONTROL_CLASS
_URL = r"(?:https?://|www\.)[^\s<>\"'«»“”]+[^\s<>\"'«»“”.,;:!?،؛؟)\]]"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_DIGIT_RUN = rf"\d(?:[{_CONTROL_CLASS}]*\d)*"
# controls anywhere inside a number, as in words
_NUMBER = rf"{_DIGIT_RUN}(?:[{_CONTROL_CLASS}]*[.,\u066b\u066c][{_CONTROL_CLASS}]*{_DIGIT_RUN})*"
_WORD = rf"[{_LETTER}]+(?:['’][{_LETTER}]+)*"
TOKEN_RE = re.compile(rf"{_URL}|{_EMAIL}|{_NUMBER}|{_WORD}")


# --------------------------------------------------------------------------- stop words
# Lucene's Arabic stop list (org/apache/lucene/analysis/ar/stopwords.txt), raw forms: Lucene
# removes stop words BEFORE normalization, so the list spells each variant.
LUCENE_STOPWORDS = frozenset(
    """من ومن منها منه في وفي فيها فيه و ف ثم او أو ب بها به ا أ اى اي أي أى لا ولا الا ألا إلا
    لكن ما وما كما فما عن مع اذا إذا ان أن إن انها أنها إنها انه أنه إنه بان بأن فان فأن وان وأن
    وإن التى التي الذى الذي الذين الى الي إلى إلي على عليها عليه اما أما إما ايضا أيضا كل وكل
    لم ولم لن ولن هى هي هو وهى وهي وهو فهى فهي فهو انت أنت لك لها له هذه هذا تلك ذلك هناك كانت
    كان يكون تكون وكانت وكان غير بعض قد نحو بين بينما منذ ضمن حيث الان الآن خلال بعد قبل حتى
    عند عندما لدى جميع""".split()
)

# Ours: function words only (particles, prepositions, pronouns, demonstratives, relatives),
# written in raw form and normalized at import, so every spelling variant is covered.
_OUR_STOPWORDS_RAW = LUCENE_STOPWORDS | set(
    """إلى على عن في من مع ذلك تلك هذه هذا هؤلاء أولئك هنا هناك هنالك الذي التي الذين اللذان
        اللتان اللاتي اللواتي ما ماذا متى أين كيف لماذا لم لن لا ليس ليست لقد قد وقد فقد كان كانت
        كانوا يكون تكون أن إن أنه أنها إنه إنها لأن كأن لكن ولكن بل ثم أو أم إما حتى إذ إذا إذن
        كما كل بعض غير سوى بين بينما منذ عند عندما لدى لدي لدينا خلال قبل بعد فوق تحت أمام خلف
        حول ضد دون نحو عبر أي أيا هو هي هم هن هما أنا نحن أنت أنتم أنتن له لها لهم لهن لنا لي
        لك لكم به بها بهم فيه فيها فيهم منه منها منهم عليه عليها عليهم إليه إليها إليهم عنه عنها
        عنهم يا أيضا فقط حيث وهو وهي وهم وفي ومن وعلى وإلى وعن ومع ولا وما ثمة كذلك فيما مما عما""".split()
)

ENGLISH_STOPWORDS = frozenset(
    """a an and are as at be by for from has have in is it its of on or that the this to was
    were will with""".split()
)


# --------------------------------------------------------------------------- stemmers
_ALEF, _WAW, _YEH, _HEH, _TEH_MARBUTA, _NOON, _TEH, _LAM = "اويهةنتل"

LUCENE_PREFIXES = ("ال", "وال", "بال", "كال", "فال", "لل", "و")
LUCENE_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ية", "ه", "ة", "ي")


def stem_lucene(word: str) -> str:
    """Lucene's ArabicStemmer (light10), reproduced exactly: one prefix, then each suffix once in
    order, with Lucene's length guards (``و`` needs 4+ chars; other prefixes leave 2; suffixes
    leave 2)."""
    n = len(word)
    for p in LUCENE_PREFIXES:
        lp = len(p)
        if (lp == 1 and n < 4) or n < lp + 2:
            continue
        if word.startswith(p):
            word = word[lp:]
            n -= lp
            break
    for s in LUCENE_SUFFIXES:
        ls = len(s)
        if n >= ls + 2 and word.endswith(s):
            word = word[: n - ls]
            n -= ls
    return word


# Our stemmer (analysis v3). A clitic is only a clitic where the lexicon says so: a leading
# و ف ب ك ل (alone, chained, or before ال) is removed when the word as written is not an attested
# word or name and what remains is (فرنسا, فترة, بلد stay whole; لبغداد, بفرنسا, وفرنسا meet them).
# Where neither reading is attested (لافروف, ولافروف), the clitic goes and the rest is stemmed the
# same way, so stem(clitic + x) == stem(x) for every unattested clitic form. Suffixes come off one
# at a time and stop at a name (طهران, لبنان) and before a cut that would turn an attested word into
# an unattested or two-letter one (تعاون, أمين). A nisba meets its country (الفرنسي -> فرنسا).
_ARTICLE_PREFIXES = ("وبال", "فبال", "وكال", "فكال", "ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال")
_OUR_PREFIXES: tuple[tuple[str, int], ...] = tuple(
    sorted(
        [(p, 2) for p in _ARTICLE_PREFIXES]
        + [(p, 3) for p in ("وب", "فب", "ول", "فل", "وك", "فك")]
        + [("و", 3), ("ف", 3)]
        + [("ب", 3), ("ك", 3), ("ل", 3)],
        key=lambda pm: -len(pm[0]),
    )
)
_BARE_PREPOSITIONS = frozenset("بكل")
_MAX_CLITICS = 3  # unattested clitics peeled off one word
_LONGEST_WORD = 30  # letters: longer runs (a repeated letter, a glued string) are kept as written
_PRONOUN_KEEP = 3  # letters a pronoun strip must leave (measured)
_INFLECTION_KEEP = 2  # letters an inflection strip must leave (Lucene's guard; measured)
_PRONOUNS = ("هما", "كما", "هم", "هن", "كم", "ها", "نا", "ه")
_INFLECTIONS = ("ات", "ون", "ين", "يه", "ي", "ان", "ه")
# Words whose letters look like clitics but are not (after normalization).
_PROTECTED = {"الله": "الله", "لله": "الله", "اللهم": "اللهم"}
_PROTECT_PROCLITICS = ("", "و", "ف", "ب", "ت", "وب", "فب", "ول", "فل")


class Stemmer:
    """Our light stemmer over normalized words, guided by an attested lexicon (``archive.lexicon``).

    Deterministic: a stem depends only on the word and the lexicon, never on what else was
    indexed, so both backends, every re-index and every query agree."""

    def __init__(
        self, fold: Callable[[str], str], lex: lexicon.Lexicon, bare_prepositions: bool = True, keep_teh_marbuta: bool = True
    ) -> None:
        """``fold`` normalizes a lexicon spelling (bare letters, so the letter table suffices)."""
        self.bare_prepositions = bare_prepositions
        self.keep_teh_marbuta = keep_teh_marbuta
        folded = {w: fold(w) for w in lex.words}
        self.words = frozenset(folded.values())
        names = {folded[w] for w in lex.names}
        # A news corpus tags nisbas as names too (الفرنسية of وكالة الصحافة الفرنسية, هندي): they
        # are adjectives of a name, and must meet it rather than stay whole.
        self.names = frozenset(n for n in names if not self._nisba_of(n, names))
        # Words written with ة keep it (زيارة, سنة, قناة: cut, they would meet زيار, سن, قنا) unless
        # they are the feminine of a masculine word (كبيرة -> كبير); their final ه is no root
        # letter either way (اتجاه).
        self.feminine = frozenset(f for w, f in folded.items() if w.endswith("ة"))
        self.feminable = frozenset(folded[w] for w in lex.feminable)
        self._memo: dict[tuple[str, bool], str] = {}

    @staticmethod
    def _nisba_of(word: str, names: set[str] | frozenset[str]) -> str | None:
        """The name a nisba form names (سوري -> سوريا, فرنسيه -> فرنسا, هندي -> هند), if any."""
        for ending in ("يه", "ي"):
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                base = word[: -len(ending)]
                extra = (base + _YEH,) if ending == "يه" else ()  # عربيه -> عربي
                for country in (base + _YEH + _ALEF, base + _ALEF, base, *extra):
                    if country in names and country != word:
                        return country
        return None

    # -- suffixes ----------------------------------------------------------------------------
    def _may_cut(self, word: str, cut: str, suffix: str, pronoun: bool = False) -> bool:
        """May ``word`` lose ``suffix`` (leaving ``cut``)? Not a name; a ة-word loses its ة only
        to its masculine (كبيره -> كبير, not زياره -> زيار); an attested word not to a
        two-letter or unattested one (تعاون -/-> تعا, امين -/-> ام)."""
        if word in self.names:
            return False
        if suffix == _HEH and word in self.feminine and not pronoun:
            return cut in self.feminable or not self.keep_teh_marbuta
        if word not in self.words:
            return True
        # an attested word never loses ان: it is a dual ending far less often than part of the
        # word (لبنان is not لبن, سكان not سك)
        return suffix != "ان" and len(cut) >= 3 and cut in self.words

    def chain(self, word: str, teh: bool = False) -> list[str]:
        """``word`` and each form left by one more suffix cut (pronoun, tanween alef, inflections).
        ``teh``: the word was written with a final ة, so its ه is no pronoun (كتابة, not كتابه)."""
        out = [word]
        for s in _PRONOUNS:
            cut = word[: -len(s)]
            if s == _HEH and teh:
                continue
            if word.endswith(s) and len(cut) >= _PRONOUN_KEEP and self._may_cut(word, cut, s, pronoun=True):
                if s == "نا" and word[-3] in "وا":  # tanween on ...ون/...ان (تعاونا), not "our"
                    cut = word[:-1]
                elif cut.endswith(_TEH) and cut not in self.words and cut[:-1] + _HEH in self.words:
                    cut = cut[:-1] + _HEH  # ة before a pronoun: زيارته -> زياره
                word = cut
                out.append(word)
                break
        long_enough = len(word) - 1 >= (4 if word[-2:-1] == _YEH else 3)
        if word.endswith(_ALEF) and long_enough and (word not in self.words or word[:-1] in self.words):
            word = word[:-1]  # tanween fath alef: مقرا -> مقر (but عليا, دنيا, فيما stay)
            out.append(word)
        after_yeh = False
        for s in _INFLECTIONS:
            cut = word[: -len(s)]
            keep = 3 if s == _YEH else _INFLECTION_KEEP  # الي -/-> ال
            if s == "ان" and after_yeh:
                continue  # a nisba of an -ān name: لاريجاني -> لاريجان, not لاريج
            if word.endswith(s) and len(cut) >= keep and self._may_cut(word, cut, s):
                if s == "ات" and self.keep_teh_marbuta and cut + _HEH in self.feminine and cut not in self.feminable:
                    cut += _HEH  # the plural of a ة-word: زيارات -> زياره
                word = cut
                out.append(word)
                after_yeh = s == _YEH
        return out

    def suffix_stem(self, word: str, teh: bool = False) -> str:
        """The last form of the suffix chain, or the first name on it (or the country a nisba
        names: سوري -> سوريا, فرنسي -> فرنسا)."""
        forms = self.chain(word, teh)
        for i, form in enumerate(forms):
            if form in self.names:
                return form
            country = self._nisba_of(form, self.names)
            if country is None and i > 0 and forms[i - 1] == form + _YEH and form + _ALEF in self.names:
                country = form + _ALEF  # فرنسي -> فرنس: the country is فرنسا
            if country:
                return country
        return forms[-1]

    def attested(self, word: str, teh: bool = False) -> bool:
        """Is ``word``, or a form its suffixes leave, an attested word or name?"""
        return any(f in self.words for f in self.chain(word, teh))

    # -- prefixes ----------------------------------------------------------------------------
    def stem(self, word: str, teh: bool = False) -> str:
        """The stem of one normalized word (``teh``: written with a final ة)."""
        memo = self._memo.get((word, teh))
        if memo is None:
            memo = self._stem(word, teh)
            if len(self._memo) > 500_000:
                self._memo.clear()
            self._memo[(word, teh)] = memo
        return memo

    def _stem(self, word: str, teh: bool, clitics: int = 0) -> str:
        """``clitics``: how many unattested clitics were already taken off (at most three stand
        before a word: و/ف, ب/ك/ل, ال; a run of clitic letters is no word to peel further)."""
        if len(word) <= 2 or len(word) > _LONGEST_WORD:
            return word
        for p in _PROTECT_PROCLITICS:
            rest = word[len(p) :]
            if word.startswith(p) and rest in _PROTECTED:
                return _PROTECTED[rest]
        # The article is the surest clitic: a word that opens with one is read whole only when
        # the lexicon holds it as written (إلهام, ألمانيا), not through its suffixes (الهبة).
        if word in self.words if word.startswith(_ARTICLE_PREFIXES) else self.attested(word, teh):
            return self.suffix_stem(word, teh)
        options = [(p, word[len(p) :]) for p, keep in _OUR_PREFIXES if word.startswith(p) and len(word) - len(p) >= keep]
        for _, rest in options:
            if self.attested(rest, teh):
                return self.suffix_stem(rest, teh)
        for p, rest in options:  # no reading is attested: the longest clitic goes
            if (p in _BARE_PREPOSITIONS and not self.bare_prepositions) or clitics >= _MAX_CLITICS:
                continue
            return self._stem(rest, teh, clitics + 1)
        return self.suffix_stem(word, teh)


# --------------------------------------------------------------------------- analyzer
class Analyzer:
    """Normalizes, tokenizes and stems text; one instance per configuration, memoized.

    ``mode="ours"`` is the product's analysis. ``mode="lucene"`` reproduces Lucene's
    ArabicAnalyzer (lowercase, decimal digits, stop words on raw forms, ArabicNormalizer,
    light10) on our tokenizer, as the measured baseline.
    """

    def __init__(
        self,
        mode: Mode = "ours",
        hamza: HamzaRule = "hamza",
        stem: bool = True,
        bare_prepositions: bool = True,
        lexicon_sources: tuple[lexicon.Source, ...] = lexicon.SOURCES,
        keep_teh_marbuta: bool = True,
    ) -> None:
        self.mode = mode
        self.hamza = hamza
        self.do_stem = stem
        self._table = _lucene_table() if mode == "lucene" else _ours_table(hamza)
        self._light_table = _light_table()
        if mode == "lucene":
            self._stops = frozenset(w.lower() for w in LUCENE_STOPWORDS)
        else:
            # Matched on the written form before alef/hamza/ya folding, as Lucene does: على is a
            # stop word, the name علي is not; إليه is, آلية is not.
            self._stops = frozenset(self._light(w) for w in _OUR_STOPWORDS_RAW) | ENGLISH_STOPWORDS
            self.stemmer = Stemmer(
                lambda w: w.translate(self._table), lexicon.load(lexicon_sources), bare_prepositions, keep_teh_marbuta
            )
        self._memo: dict[str, tuple[tuple[str, str], ...]] = {}

    # -- normalization -------------------------------------------------------------------
    def normalize(self, text: str) -> str:
        """Normalize ``text`` (idempotent). Whitespace runs collapse to one space."""
        if self.mode == "lucene":
            out = text.lower().translate(self._table)
        else:
            out = self._fold(text)
            for _ in range(3):  # removing a mark can expose a new NFKC composition (e + ZWSP + ́)
                again = self._fold(out)
                if again == out:
                    break
                out = again
        return " ".join(out.split())

    def _fold(self, text: str) -> str:
        nfkc = unicodedata.normalize
        return nfkc("NFKC", read_uthmani(nfkc("NFKC", text.translate(_NO_CONTROLS)).casefold())).translate(self._table)

    def _light(self, text: str) -> str:
        """The written form for stop-word matching: like ``normalize`` but with alef, hamza,
        ya and ta marbuta as written."""
        nfkc = unicodedata.normalize
        return nfkc("NFKC", nfkc("NFKC", text).casefold()).translate(self._light_table).strip()

    # -- terms of one surface token ---------------------------------------------------------
    def _terms(self, surface: str) -> tuple[tuple[str, str], ...]:
        """(exact, stem) pairs for one surface token; NFKC may expand a ligature (ﷺ) to words."""
        memo = self._memo.get(surface)
        if memo is not None:
            return memo
        if self.mode == "lucene":
            low = surface.lower()
            exact = low.translate(self._table)
            pairs: tuple[tuple[str, str], ...] = ()
            if exact:
                stem = "" if low in self._stops else (stem_lucene(exact) if self.do_stem else exact)
                pairs = ((exact, stem),)
        else:
            words = self.normalize(surface).split()
            written = self._light(surface).split()
            if len(written) != len(words):  # a ligature folded differently: match the folded form
                written = words
            pairs = tuple(
                (w, "" if raw in self._stops else self._stem_exact(w, raw)) for w, raw in zip(words, written, strict=False)
            )
        if len(self._memo) > 500_000:
            self._memo.clear()
        self._memo[surface] = pairs
        return pairs

    def _stem_exact(self, exact: str, written: str) -> str:
        if not self.do_stem or not ("\u0600" <= exact[0] <= "\u06ff"):
            return exact
        return self.stemmer.stem(exact, teh=written.endswith(("\u0629", "\u06c3")))

    # -- public API ----------------------------------------------------------------------------
    def analyze(self, text: str) -> list[Token]:
        """Every token of ``text`` with offsets into it, its exact term and its stem."""
        out: list[Token] = []
        pos = 0
        terms = self._terms
        for m in TOKEN_RE.finditer(text):
            surface = m.group()
            for exact, stem in terms(surface):
                out.append(Token(surface, m.start(), m.end(), pos, exact, stem))
                pos += 1
        return out

    def exact_terms(self, text: str) -> list[str]:
        """Normalized terms in order (stop words kept): what quoted phrases match."""
        return [t.exact for t in self.analyze(text)]

    def stem_terms(self, text: str) -> list[str]:
        """Stemmed terms in order, stop words removed: what plain query words match."""
        return [t.stem for t in self.analyze(text) if t.stem]


_DEFAULT: Analyzer | None = None


def default_analyzer() -> Analyzer:
    """The process-wide product analyzer (cheap to share: it is stateless but for its memo)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Analyzer()
    return _DEFAULT


def normalize(text: str) -> str:
    """Normalize with the product analyzer."""
    return default_analyzer().normalize(text)


def analyze(text: str) -> list[Token]:
    """Analyze with the product analyzer."""
    return default_analyzer().analyze(text)
