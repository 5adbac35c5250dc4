"""When a product request is declined rather than answered, and the reason given.

A request is declined when it asks to enumerate or export the catalog (a search answers
questions about some products, it never hands out the inventory), when it asks for a
promise the catalog cannot back (durability in years, medical or fitness outcomes,
predictions), or when nothing in it narrows the catalog at all. The reply then asks the
customer for specifics instead of listing data.
"""

from __future__ import annotations

import re

DECLINE_NOTHING_SPECIFIC = (
    "No brand, model, colour, material, US size, price, weight or use the catalog describes "
    "could be read from the message, so there is nothing specific to look up."
)
DECLINE_WHOLE_CATALOG = (
    "The message asks for the whole catalog or an export of it; a product search answers "
    "questions about specific products (a brand, model, colour, material, size or price)."
)

_NOUNS = r"(?:shoes|sneakers|trainers|boots|products|items|models|stock|inventory|range|lines?)"
# Requests to enumerate everything. "all your shoes" declines, "all your shoes in size 10"
# is a question with a constraint and goes ahead.
_QUALIFIED = (
    r"(?!\s+(?:in(?!\s+stock)|from|by|of|with|under|over|below|above|between|for\s+(?:under|less)|sized?"
    r"|made|that\s+(?:are|come)|which|available\s+in))"
)
_WHOLE_CATALOG = (
    re.compile(
        r"\b(?:whole|entire|full|complete)\s+(?:product\s+)?"
        r"(?:catalog(?:ue)?|range|inventory|stock|list|line-?up|product\s+list|collection)\b"
    ),
    re.compile(r"\b(?:export|dump|spreadsheet|csv)\b"),
    re.compile(
        r"\bevery\s+(?:single\s+)?(?:row|record|entry)\b|\bunfiltered\b"
        r"|\ball\s+(?:of\s+)?(?:your|the)\s+(?:product\s+|catalog(?:ue)?\s+)?(?:data|rows|records)\b"
    ),
    re.compile(
        r"\b(?:one|an?|separate)\s+(?:e-?mail|message|line|row|reply)\s+(?:per|for\s+(?:each|every))"
        r"\s+(?:product|item|shoe|model|article)\b|\buntil\s+you\s+run\s+out\b"
    ),
    re.compile(
        r"\blist\s+(?:out\s+)?(?:everything|all)\b(?!\s+(?:in|from|by|of|with|under|the\s+\w+\s+in))"
    ),
    re.compile(
        r"\b(?:all|every|everything|list)\b[^.?!]{0,60}\b(?:inventory|stock)\s+(?:numbers|levels"
        r"|counts|figures|quantities)\b|\ball\s+(?:the\s+)?rows\b"
    ),
    re.compile(rf"\b(?:all|every)\s+(?:of\s+)?(?:your|the|ur)\s+{_NOUNS}\b{_QUALIFIED}"),
    re.compile(rf"\blist\s+(?:of\s+)?all\s+(?:your\s+|the\s+)?{_NOUNS}\b{_QUALIFIED}"),
    re.compile(r"\b(?:all|every)\s+(?:products?|models?)\s+you\s+(?:have|sell|carry|stock)\b"),
    re.compile(
        r"\beverything\s+(?>you(?:\s+(?:have|sell|carry|stock|got))?|in\s+(?:your|the)\s+"
        rf"(?:store|shop|catalog(?:ue)?))\b{_QUALIFIED}"
    ),
    re.compile(
        r"\b(?:send|share|give|e-?mail|mail|forward|attach|show)\s+(?:me\s+|us\s+)?"
        r"(?:a\s+copy\s+of\s+)?(?:your|the|a)\s+(?:whole\s+|full\s+|current\s+)?"
        r"(?:catalog(?:ue)?|price\s+list|product\s+list)\b"
    ),
)


DECLINE_BEYOND_CATALOG = (
    "The message asks for a promise the catalog does not record (how many years a shoe "
    "lasts, a medical or fitness outcome, a guarantee or a prediction); the catalog "
    "describes brand, model, colour, material, size, price, weight and use."
)
# Promises and predictions no catalog row can back. Each needs the promise itself, not
# just a word: "a guarantee that I'll never get blisters", "lasts ten years", "will make
# me jump higher", "most fashionable in 2027".
_BEYOND_CATALOG = (
    re.compile(
        r"\b(?:guarantee[sd]?|promise[sd]?|certif(?:y|ied|ies)|warrant(?:y|ies|ed)?|swear)\b"
        r"[^.?!\n]{0,60}?\b(?:never|always|will|won'?t|i'?ll|for|against|to\s+(?:fix|cure|stop|"
        r"prevent)|that)\b"
    ),
    re.compile(
        r"\b(?:medical(?:ly)?|orthopa?edic(?:ally)?|clinical(?:ly)?)\s+(?:guarantee|certif)"
    ),
    re.compile(
        r"\b(?:lasts?|lasting|stays?|survive[sd]?|keeps?\s+(?:going|looking))\b[^.?!\n]{0,40}?"
        r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|twenty|fifty|a\s+hundred|many|"
        r"several)\s+(?:years?|decades?)\b"
    ),
    re.compile(r"\b(?:next|coming)\s+(?:\d+|ten|twenty)\s+(?:years?|decades?)\b"),
    re.compile(r"\bwill\b[^.?!\n]{0,60}\bin\s+(?:\d+|a\s+few|two|three|five|ten)\s+years\b"),
    re.compile(r"\b(?:forever|for\s+life|a\s+lifetime|never\s+wears?\s+out)\b"),
    # A promise asked for on its own: "I need you to promise", "I want a guarantee".
    re.compile(
        r"\b(?:need|want|expect)\s+(?:you\s+to\s+)?(?:a\s+|your\s+)?(?:promise|guarantee)\b"
    ),
    # Medical outcomes: "which shoe will definitely prevent foot ulcers?".
    re.compile(
        r"\b(?:will|would|can|could|to)\s+(?:definitely\s+|surely\s+|certainly\s+|really\s+)?"
        r"(?:prevent|cure|heal|fix|treat|get\s+rid\s+of)\s+(?:my\s+|the\s+|foot\s+|her\s+|his\s+)?"
        r"(?:ulcers?|bunions?|plantar|fasciitis|arthritis|neuropathy|heel\s+spurs?|shin\s+splints?"
        r"|(?:back|knee|hip|foot|heel)\s+pain|injur\w*|diabet\w*)"
    ),
    # Race-time outcomes: "which shoe will get me under three hours?".
    re.compile(
        r"\b(?:get|take|help)s?\s+me\s+(?:under|below|to\s+(?:a\s+)?(?:pb|pr|personal\s+best|sub))\b"
    ),
    re.compile(
        r"\b(?:make|help|let|get)s?\s+(?:me|my\s+\w+|us|him|her|them)\s+(?:to\s+)?(?:jump|run\s+"
        r"faster|lose|win|grow|taller|look\s+taller|get\s+(?:fit|faster|taller)|beat|break)"
    ),
    re.compile(
        r"\b(?:make|makes|machen|macht|har[aá]n?|hacen|rendr\w*|fera|faranno)\b[^.?!\n]{0,40}"
        r"\b(?:faster|quicker|schneller|ganar|gagner|win|vincere|r[aá]pid\w*|sub-?\d|taller)"
    ),
    re.compile(
        r"\bwill\s+be\s+(?:on\s+sale|discounted|cheaper|reduced)\b|\bnext\s+(?:black\s+friday|sale)"
    ),
    re.compile(r"\bwill\s+(?:be|become)\s+(?:the\s+)?(?:most|best|next|in\s+fashion|trendy)"),
    # Other shops' prices: the catalog holds only ours.
    re.compile(
        r"\b(?:price[- ]match\w*|match\s+(?:it|their\s+price|that\s+price|the\s+price)|competitors?"
        r"|cheaper\s+(?:elsewhere|at\s+\w+|on\s+\w+)|lists?\s+(?:it|the\s+[\w\s]+)\s+for)\b"
    ),
    # Future prices and sales: not in the catalog.
    re.compile(
        r"\b(?:black\s+friday|cyber\s+monday|price\s+drops?|go(?:es)?\s+on\s+sale|bajar\w*\s+de\s+precio"
        r"|baisse\w*\s+de\s+prix|im\s+preis\s+sinken)\b"
    ),
    # Features the catalog does not record: electronics and gadgets in a shoe.
    re.compile(
        r"\b(?:glow(?:s|ing)?[- ]in[- ]the[- ]dark|light[- ]?up|led\s+lights?|heated|self[- ]?lacing|"
        r"auto[- ]?lacing|power\s+laces|gps|bluetooth|usb|battery|built[- ]in\s+(?:\w+\s+)?track\w*|"
        r"step[- ]?(?:track\w*|count\w*)|(?:track|count)s?\s+(?:my\s+)?steps|sync\w*\s+with|"
        r"smart\s*(?:watch|phone|shoes?|chip)|nfc\s+chip|nfts?)\b"
    ),
    # Ratings, trends and investments: opinions and forecasts, not catalog facts.
    re.compile(
        r"\b(?:star\s+ratings?|(?:what|which|any|share|show|send|give)\b[^.?!\n]{0,40}\b(?:reviews?|"
        r"ratings?)|go\s+up\s+in\s+value|investment|flip(?:ping)?\s+them"
        r"|going\s+to\s+be\s+(?:trendy|popular|in)|trend(?:y|ing)?\s+next|next\s+(?:spring|summer|"
        r"autumn|fall|winter|season|year)'?s?\s+trend)\b"
    ),
    re.compile(r"\bgaranti[sz]\w*|\bgarantie\b|\bgarantiert\w*|\bgarantit\w*|\bgaranzia\b"),
    re.compile(r"\b\w*(?:inwest|invest)\w*|\bzyska\w*\s+na\s+warto\w*"),
    re.compile(
        r"\b(?:allacciano\s+da\s+sol[ei]|se\s+atan\s+sol[oa]s|lacets?\s+automatiques?"
        r"|schn[uü]ren\s+sich\s+selbst|automatische\s+veters|selbstschn[uü]r\w*)\b"
    ),
    # Figures the catalog does not hold: sales, returns, resale prices.
    re.compile(r"\b(?:resale|return\s+rate|best[- ]sell(?:ing|er)|most\s+popular)\b"),
)


DECLINE_INJECTION = (
    "The message contains SQL or instructions aimed at the system rather than a question "
    "about products; nothing was looked up."
)
# SQL written into an e-mail, or instructions to the system: never a product question.
# (Nothing of the text reaches SQL anyway; this is so the reply declines instead of
# answering the part that happened to parse, such as the "size 10" of "size 10' OR 1=1".)
_INJECTION = (
    re.compile(r"'\s*(?:or|and)\s+'?[\w ]*'?\s*=\s*'?|\bor\s+1\s*=\s*1\b"),
    re.compile(r"\bunion\s+(?:all\s+)?select\b|\bselect\s+[\w*,\s]+\s+from\s+\w+"),
    re.compile(r";\s*(?:drop|delete|update|insert|alter|truncate|create|grant|copy)\b"),
    re.compile(r"\b(?:drop|truncate)\s+table\b|\bpg_sleep\b|\binformation_schema\b|\bpg_catalog\b"),
    # An SQL comment after a quote or a statement ("'; --"); a signature's "--" is none.
    re.compile(r"['\";]\s*--|/\*.*\*/"),
    re.compile(
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier|"
        r"your)\s+(?:instructions|rules|prompts?)\b|\b(?:you\s+are\s+now|debug\s+mode|system\s*:)"
    ),
)


def looks_like_injection(text: str) -> bool:
    """True when the text carries SQL or instructions to the system."""
    lowered = text.lower()
    return any(p.search(lowered) for p in _INJECTION)


def asks_for_whole_catalog(text: str) -> bool:
    """True when the text asks to list or export everything rather than some products."""
    lowered = text.lower()
    return any(p.search(lowered) for p in _WHOLE_CATALOG)


def asks_beyond_catalog(text: str) -> bool:
    """True when the text asks for a promise or prediction the catalog cannot back."""
    lowered = text.lower().replace("\u2019", "'")
    return any(p.search(lowered) for p in _BEYOND_CATALOG)
