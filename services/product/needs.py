"""What a customer needs a shoe for, and how well a catalog product fits it.

A need is a use, terrain, weather, comfort or style a customer names ("for hiking",
"keeps my feet dry in the rain", "on my feet all day", "max cushioning"). Products have
no column for these: only their name and description say them. Both sides are read the
same way, into the same units:

- a *concept* when a phrase of the FOOTWEAR_CONCEPTS thesaurus below appears (customers
  and catalog writers use different words for one thing: "puddles" and "waterproof");
- otherwise a *word stem* (Snowball), so that a description's own words ("cork footbed",
  "saw-tooth sole") are matched even though nobody listed them.

The thesaurus is general footwear language, not a list of this catalog's products: which
products fit a concept is read from their descriptions in the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

import snowballstemmer  # type: ignore[import-untyped]
import stopwordsiso

from services.common import wordlists
from services.product.words import Token, negated_tokens, norm_word, tokenize

# Concept -> phrases (regular expressions over lower-case text with hyphens as spaces).
# A phrase that appears in a text gives the text that concept, and its words are then
# not read again as stems.
FOOTWEAR_CONCEPTS: Mapping[str, tuple[str, ...]] = {
    "waterproof": (
        r"wasserdicht\w*", r"(?:stay|stays|staying|keep|keeps|keeping)(?: \w+){0,3} dry", r"soak\w*", r"imperme\w*", r"waterdicht\w*", r"regen\w*", r"lluvia", r"pluie",
        r"water ?proof\w*", r"water ?tight", r"(?:wont|doesnt|dont|will not|does not|do not) let (?:the |any )?(?:water|rain|wet) in", r"(?:dont|doesnt|wont|never|no) leak\w*", r"leak ?proof", r"water resistant", r"rain\w*", r"puddles?",
        r"wet (?:weather|days?|climate|conditions|grass|streets?)", r"snow\w*", r"slush\w*",
        r"storm\w*", r"downpours?", r"drizzl\w*", r"keeps? (?:my |your |the |our )?(?:feet|"
        r"foot|toes|socks) dry", r"dry feet", r"keeps? (?:the )?water out", r"all weather",
        r"(?:any|every|all) kinds? of weather", r"monsoon", r"soggy",
    ),
    "water": (
        r"water friendly", r"water shoes?", r"in and out of (?:the )?water", r"pools?",
        r"poolside", r"gets? wet", r"getting wet", r"rins(?:e|es|ing)(?: \w+)? off", r"hos(?:e|es|ing) (?:\w+ )?down", r"beach\w*", r"plages?", r"playas?", r"spiaggia", r"strand\w*", r"swim\w*", r"showers?", r"kayak\w*", r"canoe\w*",
        r"(?:in|into|through) (?:the )?(?:lake|river|sea|ocean|stream)s?", r"river crossings?", r"boat\w*", r"water ?parks?", r"paddl\w*",
        r"surf\w*", r"seaside", r"splash\w*", r"wade|wading",
    ),
    "hiking": (
        r"wander(?:n|ung\w*|schuh\w*|stiefel\w*|er|ern)", r"senderismo", r"randonn\w*", r"escursion\w*", r"caminhada\w*", r"trekking\w*",
        r"hik\w*", r"trek\w*", r"backpack\w+", r"hillwalk\w*", r"mountaineer\w*",
        r"rambl(?:e|es|ing|er|ers)", r"walking (?:holiday|trip|tour)s?", r"trail walk\w*",
        r"national parks?", r"camino", r"fell walk\w*", r"scrambl\w*", r"(?:the )?fells", r"summits?",
        r"rucksacks?", r"hut to hut", r"multi ?day (?:walks?|treks?|hikes?)", r"(?:la|las|en) montanas?", r"montagne\w*",
        r"montagna", r"bergtour\w*", r"bergwander\w*", r"in den bergen", r"w gory|w gorach|gorski\w*", r"vandring\w*", r"fjell\w*", r"turvandring\w*",
    ),
    "trail": (
        r"trail\w+", r"gelande\w*",
        r"trails?(?! walk)", r"off ?road\w*", r"single ?track", r"mud\w*", r"rocky", r"rocks",
        r"mountain (?:runs?|running|trails?)", r"fell running",
        r"ultra ?(?:marathon|trail)s?", r"ultras", r"an ultra(?= |$)", r"forest (?:paths?|tracks?|runs?)", r"gravel", r"grip\w*",
        r"tracti\w+", r"uneven (?:ground|terrain)", r"terrain", r"lugs?",
    ),
    "running": (
        r"lauf\w*", r"hardloop\w*", r"correr", r"corrida", r"course a pied", r"jogging\w*",
        r"run", r"runs", r"running", r"runners?", r"jog\w*", r"marathons?", r"half marathons?",
        r"\d+ ?k (?:race|run)s?", r"5 ?k", r"10 ?k", r"parkruns?", r"road running",
        r"mileage", r"tempo runs?", r"long runs?",
    ),
    "walking": (
        r"spazier\w*", r"wandel\w*", r"spacer\w*", r"promenad\w*", r"ga (?:pa )?promenad\w*", r"andar", r"camminar\w*", r"caminhar", r"chodzeni\w*", r"caminar", r"marche", r"passeggiat\w*",
        r"walk", r"walks", r"walking(?! (?:holiday|trip|tour))", r"walking\w+", r"walker", r"strolls?",
        r"strolling", r"dog walk\w*", r"walking the dog", r"errands",
    ),
    "tennis": (r"tennis", r"(?:jugar|jogar|juego|jogo|joue\w*|spiel\w*|gioc\w*|play\w*) (?:al |a |au |o |de )?ten+is", r"padel", r"squash", r"(?:hard|clay) courts?", r"pickleball"),
    "skate": (r"skat\w+", r"skateboard\w*", r"skate ?parks?", r"kickflips?", r"ollies?"),
    "boot": (
        r"stiefel\w*", r"botas?", r"bottes?", r"laarzen", r"stivali", r"st[øo]vl\w*", r"kozak\w*", r"botki",r"boots?", r"booties", r"ankle boots?", r"work boots?"),
    "sandal": (
        r"sanda[lł]\w*", r"sandals?", r"strappy", r"open (?:\w+ )?(?:shoes?|footwear)",
        r"(?:open\w*|offen\w*|oppe\w*|apert\w*|abiert\w*|ouvert\w*|aberto\w*) (?:\w+ ){0,2}(?:with|mit|med|con|avec|com|z) (?:\w+ )?(?:straps?|riemen|remmar|remme|cinghi\w*|tiras|correas|brides|lanieres|paski\w*)", r"sliders?", r"slides", r"flip ?flops?", r"open toe\w*"),
    "clog": (r"clogs?", r"mules?", r"sabots?", r"zuecos?", r"zoccoli", r"klompen", r"clogs\w*"),
    "high_top": (
        r"high ?tops?", r"hi ?tops?", r"ankle high", r"mid ?tops?",
        r"(?:over|above|past|covers?|covering|up to|round|around) (?:the |my )?ankles?", r"ankle (?:height|length)",
        r"basket ?ball\w*", r"za kostk\w*", r"koszykar\w*", r"baloncesto", r"(?:uber|bis) (?:den|die) knochel\w*",
        r"(?:hasta|sobre|por encima del?) (?:el )?tobillo", r"montante\w*", r"alt[ei] (?:alla|sulla) caviglia", r"cano alto",
    ),
    "cushioning": (
        r"amortigu\w*", r"amortec\w*", r"dampfung", r"ammortizz\w*", r"amorti\w*",
        r"cushion\w*", r"cush(?:y|ier|iest)", r"padding", r"demping", r"d[aä]mpfung", r"padded", r"plush\w*", r"soft(?:er|est)? (?:ride|sole|"
        r"landing|feel)", r"shock absor\w+", r"impact", r"springy", r"pillowy", r"squishy",
        r"cloud like", r"like walking on clouds?", r"soft underfoot", r"knees?", r"joints?",
    ),
    # Only superlatives: "plenty of cushioning" is well cushioned, not the most cushioned.
    "maximum": (
        r"max(?:imum|imal|imale|imo|ed)?(?= (?:cushion|padding|comfort|support|stability|demping"
        r"|dampfung|amortigu|ammortizz|amorti))",
        r"most(?= (?:cushion|padding|padded|plush))", r"as much(?= (?:cushion|padding))",
        r"thickest", r"cushiest", r"softest", r"plushest", r"the most cushion\w*",
        r"cushion\w* (?:possible|you have)", r"zo zacht mogelijk", r"so weich wie m\w+",
        r"lo m[aá]s (?:blando|suave) posible",
    ),
    "lightweight": (
        r"leicht\w*", r"legger[aeio]", r"licht(?:e|er|ste)?(?! (?:grijs|blauw|bruin))", r"liger[oa]s?", r"leger(?:e|es)?", r"legger[oa]",
        r"light ?weight\w*", r"light(?:er|est)?(?! (?:grey|gray|blue|brown|green|pink|colou?r))",
        r"feather ?light", r"weightless", r"barely there", r"not heavy", r"low weight",
        r"weighs? (?:almost )?nothing", r"pack(?:s|ing)? (?:light|small)",
    ),
    "comfort": (
        r"bequem\w*", r"comod[oa]s?", r"confort\w*", r"komfort\w*",
        r"comf\w*", r"cosy|cozy", r"feel good", r"easy on (?:the|my) feet",
        r"don'?t hurt", r"pain ?free", r"sore feet",
    ),
    "all_day": (
        r"all day", r"whole day", r"entire day", r"all day long", r"on (?:my|her|his|our|"
        r"their|your) feet (?:all|for|the whole|at work|during)", r"long (?:shifts?|days?|hours)", r"\d+ ?(?:hour|hr)s? (?:shifts?|"
        r"days?)", r"shifts?", r"standing", r"stand all", r"nurse\w*", r"retail", r"waiter\w*",
        r"waitress\w*", r"warehouse",
    ),
    "breathable": (
        r"breath\w*", r"ventilat\w*", r"atm(?:en|et|ung)\w*", r"respir\w*", r"traspir\w*",
        r"feet (?:get |are |feel )?(?:hot|sweaty|warm)", r"vent(?:s|ed)?", r"airy", r"air flow|airflow",
        r"breez\w*", r"sweat\w*", r"hot (?:feet|weather|climates?|days?|summers?)", r"humid\w*",
        r"mesh", r"holes", r"cool feet",
    ),
    "stability": (
        r"stabilit\w*", r"stabilidad\w*", r"overpronat\w*", r"over pronat\w*", r"prona\w*",
        r"(?:roul\w*|tourn\w*) (?:\w+ )?vers l ?interieur", r"hacia (?:a)?dentro", r"nach innen", r"verso l ?interno", r"para dentro",
        r"naar binnen", r"do srodka", r"corrige\w*|corrects? (?:that|it|this|my)",
        r"flat feet", r"fallen arches", r"low arches", r"arch support", r"motion control",
        r"(?:rolls?|rolling) in(?:wards?)?", r"ankles? roll\w*", r"physio\w*", r"podiatrist\w*",
    ),
    "support": (r"support\w*", r"arch support", r"structured"),
    "durable": (
        r"durab\w+", r"tough\w*", r"holds? up", r"hold together", r"(?:doesn'?t|won'?t) fall apart", r"duradou?r\w*", r"resistente", r"langlebig", r"robuste?", r"rugged\w*", r"sturdy", r"robust", r"long lasting",
        r"hard ?wearing", r"built to last", r"lasts? (?:long|ages)", r"take a beating",
        r"rough on (?:shoes|my shoes|footwear)", r"wear (?:them|shoes) out", r"indestructible",
        r"heavy duty", r"construction", r"work ?sites?", r"building sites?",
    ),
    "style": (
        r"styl\w+", r"fashion\w*", r"trendy", r"good looking", r"looks? (?:good|great|cool|nice)",
        r"design\w*", r"sharp", r"sleek", r"slick", r"dapper", r"snazzy", r"chic", r"smart", r"dressy", r"cool looking",
    ),
    "bold": (
        r"bold\w*", r"eye ?catching", r"loud", r"flashy", r"statement", r"stand(?:s)? out",
        r"head ?turn\w*", r"striking", r"nothing boring", r"not boring", r"vibrant",
    ),
    "retro": (r"retro", r"vintage", r"90s|nineties|80s|eighties", r"old school", r"throwback", r"dad (?:shoes?|sneakers?)"),
    "chunky": (r"chunky", r"dad (?:shoes?|sneakers?)", r"platform\w*", r"thick soles?", r"bulky"),
    "classic": (
        r"classic\w*", r"timeless", r"iconic", r"original", r"legendary", r"heritage",
        r"never goes? out of style", r"evergreen", r"cult", r"everyone (?:has|had|wears)",
    ),
    "energy_return": (
        r"energy return", r"energy", r"springy", r"spring(?:y|iness)? in (?:my|your) step",
        r"propuls\w+", r"rebound", r"bouncy", r"bounce",
    ),
    "responsive": (r"responsive\w*", r"snappy", r"bouncy", r"bounce", r"lively", r"reactive"),
    # Steadiness in general ("smooth and stable rides"), short of a stability shoe.
    "steady": (r"stable", r"stabile", r"estable", r"stabil", r"steady", r"steadiness", r"secure", r"planted", r"sure ?footed"),
    "smooth_ride": (
        r"heel to toe", r"seamless\w*",
        r"smooth\w*", r"rides?", r"transitions?", r"rolls? (?:through|forward)", r"fluid\w*", r"glid\w*",
        r"butter\w*", r"rolling (?:feel|motion|ride|sensation)", r"(?<!air )flow\w*", r"fluy\w*", r"fluir", r"flie(?:ss|ß)\w*",
        r"scorr\w*", r"desliz\w*", r"soepel\w*",
        r"effortless",
    ),
    "neutral": (r"neutral\w*", r"normal (?:gait|arches?)", r"no pronation"),
    "versatile": (
        r"versatil\w+", r"all ?round\w*", r"do it all", r"everything", r"daily trainers?",
        r"one shoe for", r"multi ?purpose",
    ),
    "premium": (
        r"premium", r"high ?end", r"luxur\w+", r"top of the (?:line|range)", r"best quality",
        r"quality", r"money (?:is no|isn'?t an?) (?:object|issue)", r"finest", r"flagship",
    ),
    "everyday": (
        r"tous les jours", r"todos los dias", r"alltag\w*", r"decontract\w*", r"diari[oa]s?",
        r"everyday", r"every day (?:wear|use|shoes?)", r"daily (?:wear|use|driver)", r"casual\w*", r"day to day", r"errands", r"running around town",
        r"lifestyle",
    ),
    "performance": (r"performance", r"athletic", r"competition", r"race\w*", r"racing", r"speed"),
    "footbed": (r"foot ?beds?", r"insoles?", r"contoured", r"cork\w*", r"arch"),
    "gym": (r"gym\w*", r"hiit", r"cross ?fit", r"workouts?", r"training(?! for)", r"fitness", r"classes"),
    "work": (r"work(?:ing)? outdoors", r"work ?wear", r"work boots?", r"job site", r"labou?r\w*"),
}  # fmt: skip

# Words that say nothing about a need, on either side (a description's "offers" or
# "known", a customer's "looking" or "thanks"), and that are never read as stems: the
# function words of the languages customers write in (stopwords-iso), and the shop's own
# words for asking, buying and people (`data/needs.toml`).
_NEEDS_DATA = wordlists.data("services.product", "needs")
_FILLER = frozenset(
    norm_word(w)
    for w in (*stopwordsiso.stopwords(_NEEDS_DATA["filler_languages"]), *_NEEDS_DATA["filler"])
    if " " not in w
)
# Needs that weigh less than others. "Running" is the purpose of most athletic shoes, but
# few descriptions say so: a "running shoe with a smooth ride" is above all a smooth ride.
# A silhouette ("boots", "sandals") is the thing asked for; what qualifies it ("smart
# sandals", "black boots") comes second.
_WEIGHTS: Mapping[frozenset[str], Fraction] = {
    frozenset({"running"}): Fraction(1, 2),
    frozenset({"boot"}): Fraction(2),
    frozenset({"sandal"}): Fraction(2),
    frozenset({"clog"}): Fraction(2),
    frozenset({"high_top"}): Fraction(2),
}
# Concepts that only say how much of the concept next to them is wanted.
_DEGREE = frozenset({"maximum"})
# "Any style", "whatever colour": the customer leaves it open, it is not a need.
_INDIFFERENCE = re.compile(
    r"\b(?:any|whatever|every|no particular|all)\s+(?:style|styles|design|look|colou?rs?|brand"
    r"|kind|type|model)s?\b|\b(?:style|design|colou?r|brand)\s+(?:doesn?t|does not|don'?t)\s+"
    r"matter\b"
)
# Stems shorter than this are too vague to match on their own.
_MIN_STEM_LETTERS = 4

_STEMMER = snowballstemmer.stemmer("english")
_COMPILED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (concept, re.compile(rf"(?<![\w])(?:{'|'.join(phrases)})(?![\w])"))
    for concept, phrases in FOOTWEAR_CONCEPTS.items()
)


@dataclass(frozen=True)
class Needs:
    """The needs a text expresses. Each need is one or more parts that belong together
    ("plenty of" + "cushioning"), and each part is the set of units any of which satisfies
    it (a word like "bouncy" may mean energy return or responsiveness). A unit is a
    concept ("waterproof") or a word stem ("~cork")."""

    wants: tuple[tuple[frozenset[str], ...], ...] = ()

    @property
    def units(self) -> frozenset[str]:
        """Every unit named, whatever need it belongs to."""
        return frozenset(u for want in self.wants for part in want for u in part)

    @property
    def empty(self) -> bool:
        """True when the text names no need at all."""
        return not self.wants

    def describe(self) -> tuple[str, ...]:
        """The needs in plain words, for the reviewer: "maximum+cushioning", "~cork"."""
        return tuple(
            sorted(
                "+".join("/".join(sorted(u.replace("_", " ") for u in part)) for part in want)
                for want in self.wants
            )
        )


def _fold(text: str) -> str:
    """Lower case without accents, hyphens and slashes as spaces, apostrophes dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    out = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    out = out.replace("\u2019", "'").replace("'", "")
    return re.sub(r"[-/_]", " ", out)


def read_needs(text: str, *, ignore: Iterable[str] = ()) -> Needs:
    """The needs a text names, leaving out negated ones ("no trail stuff") and the words
    in `ignore` (brands, models, colours and materials already read as constraints)."""
    # "basketball-style", "retro-style": like that kind of shoe, not a wish for style.
    folded = _INDIFFERENCE.sub(" ", _fold(re.sub(r"(?<=\w)-style\b", "", text)))
    tokens = tokenize(folded)
    negated = negated_tokens(tokens)
    ignored = {w for phrase in ignore for w in _fold(phrase).split()}
    # Character offsets of each token, to tell which tokens a concept phrase covers.
    spans = [(m.start(1), m.end(1)) for m in re.finditer(r"([^\W_]+)", folded)]
    covered = [False] * len(spans)
    # (first token, last token) -> the units read there
    found: dict[tuple[int, int], set[str]] = defaultdict(set)
    stems: set[str] = set()
    for concept, pattern in _COMPILED:
        for match in pattern.finditer(folded):
            inside = [
                i for i, (s, e) in enumerate(spans) if s >= match.start() and e <= match.end()
            ]
            # A phrase that starts negated is left out ("no trail stuff"); one that carries
            # its own negation is not ("boots that don't leak").
            if not inside or (inside[0] < len(negated) and negated[inside[0]]):
                continue
            if all(tokens[i].norm in ignored for i in inside if i < len(tokens)):
                continue
            found[(inside[0], inside[-1])].add(concept)
            for i in inside:
                covered[i] = True
    for i, token in enumerate(tokens):
        word = token.norm
        if covered[i] or negated[i] or word in _FILLER or word in ignored:
            continue
        if any(ch.isdigit() for ch in word):
            continue
        stem = _stem(word)
        if len(stem) >= _MIN_STEM_LETTERS:
            stems.add(f"~{stem}")
    # A word of its own is a need of its own; only concept phrases join into one need.
    wants = _joined(found, tokens) + tuple((frozenset({s}),) for s in sorted(stems))
    return Needs(wants)


def _joined(
    found: Mapping[tuple[int, int], set[str]], tokens: list[Token]
) -> tuple[tuple[frozenset[str], ...], ...]:
    """The needs of the concept phrases found: each phrase is a need of its own, except a
    degree word ("maximum", "plenty of") that joins the phrase it touches within a clause
    ("maximum cushioning" is one need, half met by ordinary cushioning)."""
    wants: list[list[tuple[tuple[int, int], frozenset[str]]]] = []
    for span, units in sorted(found.items()):
        degree_here = frozenset(units) & _DEGREE
        if degree_here and frozenset(units) - _DEGREE:
            # "cushiest" is maximum AND cushioning: two parts of one need.
            wants.append([(span, degree_here), (span, frozenset(units) - _DEGREE)])
            continue
        part = (span, frozenset(units))
        if wants:
            previous = wants[-1]
            last_end = max(s[1] for s, _ in previous)
            touching = span[0] <= last_end or (
                span[0] == last_end + 1 and not tokens[span[0]].clause_start
            )
            # A degree joins the one phrase it qualifies, and nothing more.
            has_degree = any(u & _DEGREE for _, u in previous)
            filled = any(u - _DEGREE for _, u in previous)
            degree = (part[1] & _DEGREE and not has_degree) or (has_degree and not filled)
            if touching and degree:
                previous.append(part)
                continue
        wants.append([part])
    # Repeated mentions count again: "it rains all the time, keep my feet dry" asks for
    # waterproofing more than a passing "for walking the dog" asks for a walking shoe.
    return tuple(tuple(sorted({u for _, u in want}, key=sorted)) for want in wants)


@cache
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def profile(name: str, description: str, *, brand: str = "") -> Needs:
    """What a product offers, read from its name and description like a request is."""
    return read_needs(f"{name}. {description}", ignore=(brand,))


def fit(needs: Needs, offer: Needs) -> Fraction:
    """How much of the needs a product's offer covers: one per need fully met, and the
    met share of a need's parts otherwise ("maximum cushioning" is half met by a shoe
    with ordinary cushioning)."""
    offered = offer.units
    total = Fraction(0)
    seen: set[tuple[frozenset[str], ...]] = set()
    for want in needs.wants:
        weight = _WEIGHTS.get(frozenset().union(*want), Fraction(1))
        # A purpose said twice ("marathon ... long runs") is still the purpose of most
        # shoes; only needs of full weight count again when repeated.
        if weight < 1 and want in seen:
            continue
        seen.add(want)
        met = Fraction(sum(1 for part in want if part & offered), len(want))
        if met < 1 and any(part & _DEGREE for part in want):
            # "The most cushioned" is not met by ordinary cushioning at all.
            met = Fraction(0)
        total += met * weight
    return total
