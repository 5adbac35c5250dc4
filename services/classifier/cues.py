"""Explicit cues for hard signals: topic keywords, urgency, no-reply notes. Pure.

The topic model learns from data; these rules carry what must never be missed
(injury, legal threats, "it cannot wait") and give the model strong features.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

TOPIC_PRODUCT = "product_availability_or_recommendation"
TOPIC_DELIVERY = "delivery_delay"
TOPIC_BILLING = "billing_dispute"
TOPIC_TRANSACTION = "transaction_inquiry"
TOPIC_COMPLAINT = "product_complaint"
TOPIC_OTHER = "other"
# The taxonomy as a type, for models that read or write topic names.
TopicName = Literal[
    "product_availability_or_recommendation",
    "delivery_delay",
    "billing_dispute",
    "transaction_inquiry",
    "product_complaint",
    "other",
]
# The taxonomy, in a fixed order (the topic model's output order).
TOPICS = (
    TOPIC_PRODUCT,
    TOPIC_DELIVERY,
    TOPIC_BILLING,
    TOPIC_TRANSACTION,
    TOPIC_COMPLAINT,
    TOPIC_OTHER,
)

# (pattern, weight) per topic. Patterns are matched case-insensitively on word boundaries.
_TOPIC_CUES: dict[str, list[tuple[str, float]]] = {
    TOPIC_DELIVERY: [
        (r"where(?:'s| is) my (?:order|parcel|package|shoes|delivery)", 3.0),
        (r"\b(?:late|delayed|delay|overdue)\b", 1.5),
        (
            r"\b(?:hasn'?t|has not|haven'?t|have not|never|still not|not yet) (?:arrived|come|been delivered|received|shown up|turned up)",
            2.5,
        ),
        (r"\b(?:tracking|track)\b", 1.5),
        (r"\b(?:parcel|package|shipment|courier|carrier|fedex|ups|usps|dhl)\b", 1.0),
        (r"\b(?:in transit|out for delivery|not delivered|lost in the post|missing parcel)\b", 2.0),
        (r"\b(?:FDX|UPS|USPS|DHL|1Z)[A-Z0-9]{6,}\b", 2.0),
        # The same signals in Spanish, French, German, Italian, Portuguese and Dutch.
        (
            r"\b(?:no ha llegado|todav[ií]a no (?:ha )?llegad\w*|mi (?:pedido|paquete)|el env[ií]o|seguimiento|retras\w*)\b",
            2.0,
        ),
        (
            r"\b(?:colis|pas (?:encore )?(?:re[çc]u|arriv[ée]\w*)|ma commande|la livraison|en retard|suivi)\b",
            2.0,
        ),
        (
            r"\b(?:paket|lieferung|nicht (?:angekommen|geliefert)|noch nicht (?:da|angekommen)|versp[äa]tet|sendungsverfolgung)\b",
            2.0,
        ),
        (
            r"\b(?:pacco|non (?:[èe] )?(?:ancora )?arrivat\w*|consegna|in ritardo|spedizione)\b",
            2.0,
        ),
        (
            r"\b(?:encomenda|n[ãa]o chegou|ainda n[ãa]o chegou|entrega|atrasad\w*|rastreio)\b",
            2.0,
        ),
        (r"\b(?:pakket|niet (?:aangekomen|geleverd)|bezorging|vertraagd)\b", 2.0),
        # Nordic, Finnish, Polish, Czech, Turkish, Romanian and Greek.
        (
            r"\b(?:inte (?:kommit|fått|levererats)|paketet|leveransen|försenad\w*|spårning\w*|ikke (?:kommet|modtaget|mottatt|levert|leveret)"
            r"|pakken|leveringen|forsinke\w*|sporing\w*|ei ole (?:tullut|saapunut)|paketti\w*|toimitus\w*|myöhässä|seuranta\w*"
            r"|nie (?:dotar\w*|przysz\w*)|paczk\w*|przesyłk\w*|dostaw\w*|opóźni\w*|nedorazil\w*|nepřiš\w*|balík\w*|zásilk\w*|zpožd\w*"
            r"|gelmedi|ulaşmadı|kargom\w*|kargo\w*|teslimat\w*|gecik\w*|nu (?:a )?(?:ajuns|sosit)|colet\w*|livrar\w*|întârzi\w*"
            r"|δέμα\w*|παράδοσ\w*|καθυστέρ\w*|δεν (?:έχει )?(?:φτάσει|έρθει))\b",
            2.0,
        ),
    ],
    TOPIC_PRODUCT: [
        (r"\b(?:in stock|out of stock|available|availability|back in stock|restock)\b", 2.5),
        (r"\bdo you (?:have|sell|carry|stock)\b", 2.5),
        (
            r"\b(?:recommend|recommendation|suggest|looking for|which shoe|what shoe|best shoe)\b",
            2.0,
        ),
        (r"\bsize\s*\d+(?:\.5)?\b", 1.5),
        (r"\b(?:any|got) (?:\w+ )?(?:shoes|sneakers|trainers|runners)\b", 1.0),
        # The same signals in Spanish, French, German, Italian, Portuguese and Dutch.
        (
            r"\b(?:tienen|hay (?:stock|disponible)|disponibles?|en stock|talla|me recomienda\w*)\b",
            2.0,
        ),
        (r"\b(?:avez-vous|vous avez|disponibles?|en stock|pointure|recommand\w*)\b", 2.0),
        (r"\b(?:haben sie|verf[üu]gbar|vorr[äa]tig|auf lager|empfehlen)\b", 2.0),
        (r"\b(?:avete|disponibil\w*|taglia|consigli\w*)\b", 2.0),
        (r"\b(?:voc[êe]s t[êe]m|dispon[íi]ve\w*|em estoque|tamanho|recomend\w*)\b", 2.0),
        (r"\b(?:hebben jullie|op voorraad|beschikbaar|aanraden)\b", 2.0),
        (
            r"\b(?:har (?:ni|i|dere|du)|finns (?:det|de)|i lager|på lager|storlek|størrelse|rekommend\w*|anbefal\w*"
            r"|onko teillä|varastossa|suosittel\w*|czy (?:macie|mają)|dostępn\w*|rozmiar\w*|polec\w*|máte\b|skladem|velikost\w*|doporuč\w*"
            r"|var mı|stokta|tavsiye\w*|öneri\w*|aveți|în stoc|mărim\w*|recomand\w*|έχετε|διαθέσιμ\w*|νούμερο|προτείν\w*)\b",
            2.0,
        ),
    ],
    TOPIC_BILLING: [
        (
            r"\b(?:charged twice|double charged|charged me twice|duplicate charge|two charges)\b",
            3.5,
        ),
        (
            r"\b(?:overcharged|wrong amount|incorrect (?:amount|charge|invoice)|charged (?:me )?(?:for|more))\b",
            3.0,
        ),
        (r"\b(?:dispute|chargeback|unauthori[sz]ed charge|billing error|invoice)\b", 2.0),
        (r"\bcharged\b.*\b(?:cancel+ed|never received|didn'?t order)\b", 3.0),
        # Money taken twice, however it is put ("took money from my account twice").
        (
            r"\b(?:took|taken|charged|debited|billed|deducted|withdrew|withdrawn|pulled)\b[^.!?\n]{0,40}\b(?:twice|two times|double)\b",
            3.5,
        ),
        # The same signals in Spanish, French, German, Italian, Portuguese and Dutch.
        (
            r"\b(?:cobrad[oa]s? dos veces|me (?:han )?cobrado|cobro|cargo (?:duplicado|doble)|factura)\b",
            2.5,
        ),
        (
            r"\b(?:d[ée]bit[ée]\w* (?:deux fois|deux)|pr[ée]lev[ée]\w*|factur[ée]\w*|facture)\b",
            2.5,
        ),
        (r"\b(?:doppelt (?:belastet|abgebucht|berechnet)|abgebucht|rechnung|berechnet)\b", 2.5),
        (r"\b(?:addebitat\w*|addebito|fattura|due volte)\b", 2.5),
        (r"\b(?:cobrad[oa]s? duas vezes|cobran[çc]a|fatura)\b", 2.5),
        (r"\b(?:dubbel afgeschreven|afgeschreven|factuur)\b", 2.5),
        (
            r"\b(?:dragit\w* två gånger|debiter\w* (?:två|to) gånger|trukket (?:to|2) gange|belastet (?:to|2) ganger|veloitettu (?:kahdesti|kaksi kertaa)"
            r"|pobran\w* (?:dwa razy|dwukrotnie)|podwójn\w* (?:płatnoś|obciąż|pobran)\w*|strženo dvakrát|účtováno dvakrát|iki kez (?:çekildi|ödeme)"
            r"|taxat\w* de (?:două|doua) ori|debitat\w* de (?:două|doua) ori|χρεώθηκα (?:δύο|δυο) φορές|faktur\w*|lasku\w*|fatura\w*|τιμολόγι\w*|korygując\w*)\b",
            2.5,
        ),
    ],
    TOPIC_TRANSACTION: [
        (
            r"\b(?:refund status|status of my refund|where is my refund|when will i (?:get|receive) my refund)\b",
            3.0,
        ),
        (
            r"\b(?:has my refund|refund been processed|payment (?:went through|status|confirmation)|did my payment)\b",
            3.0,
        ),
        (r"\b(?:return status|received my return|my return)\b", 2.0),
        # Whether a payment went through, in several languages.
        (
            r"\b(?:payment|paiement|pago|zahlung|pagamento|betaling|p[łl]atno[śs][ćc]|platba|betalning)\b[^.?!\n]{0,40}"
            r"\b(?:accept\w*|gone through|went through|received|arrived|pass[ée]e?|re[çc]u|recibido|aceptado|angekommen|eingegangen"
            r"|ricevut\w*|andato a buon fine|recebid\w*|aceite|ontvangen|dotar\w*|doraz\w*|mottagen|kommit fram)",
            2.5,
        ),
        # Asking whether promised money has arrived ("has that gone through yet?").
        (
            r"(?:\b(?:has|have|did|is) (?:it|that|this|the (?:refund|money|payment|credit)|my (?:refund|money|payment|credit)) (?:gone|go|went) through"
            r"|\bbeen credited|\bcredited back|\b(?:show|shows|showing|appear|appears) (?:up )?(?:on|in) my (?:card|account|statement|bank)|(?:\b(?:refund|money|credit)|\$\d+(?:\.\d\d)?)[^.!?\n]{0,30}\b(?:come|came) back)\b",
            2.0,
        ),
        (r"\brefund\b", 1.0),
        # The same signals in Spanish, French, German, Italian, Portuguese and Dutch.
        (r"\b(?:reembols\w*|devoluci[óo]n|estorno)\b", 2.0),
        (r"\b(?:rembours\w*|mon retour|retourner)\b", 2.0),
        (r"\b(?:r[üu]ckerstattung|erstattung|r[üu]cksendung|zur[üu]ckschicken)\b", 2.0),
        (r"\b(?:rimbors\w*|il reso|restituire)\b", 2.0),
        (r"\b(?:devolu[çc][ãa]o|devolver)\b", 2.0),
        (r"\b(?:terugbetaling|retourneren|mijn retour)\b", 2.0),
        (
            r"\b(?:återbetalning\w*|tilbagebetaling\w*|refusjon\w*|returnering\w*|hyvity\w*|palautu\w*|zwrot\w*|vrácení|refundac\w*"
            r"|platba (?:dorazila|přišla)|iade\w*|ödeme\w* (?:ulaştı|geçti)|rambursar\w*|επιστροφ\w*|(?:payment|transfer) (?:arrived|reached you))\b",
            2.0,
        ),
    ],
    TOPIC_COMPLAINT: [
        (
            r"\b(?:defective|faulty|broken|damaged|torn|ripped|fell apart|falling apart|came apart|sole (?:came off|is peeling|peeling)|peeling)\b",
            3.0,
        ),
        (
            r"\b(?:wrong (?:size|colou?r|item|shoe|pair|model)|not as described|not what i ordered|different from the picture)\b",
            3.0,
        ),
        (r"\b(?:poor quality|bad quality|cheap quality|stitching|glue)\b", 2.0),
        # Arrived marked or used: "a glue stain all over", "scuffed", "someone wore these".
        (
            r"\b(?:stain(?:s|ed)?|scuff(?:s|ed)?|discolou?r\w*|dirty|mou?ldy|already worn|been worn|used pair|creased)\b",
            2.0,
        ),
        # The same signals in Spanish, French, German, Italian, Portuguese and Dutch.
        (
            r"\b(?:defectuos\w*|rot[oa]s?|despegad\w*|da[ñn]ad\w*|equivocad\w*|talla equivocada)\b",
            2.5,
        ),
        (
            r"\b(?:d[ée]fectueu\w*|cass[ée]\w*|ab[îi]m[ée]\w*|d[ée]coll[ée]\w*|mauvaise (?:taille|pointure|couleur))\b",
            2.5,
        ),
        (r"\b(?:kaputt|defekt|besch[äa]digt|falsche (?:gr[öo][ßs]e|farbe)|gebraucht)\b", 2.5),
        (r"\b(?:difettos\w*|rott[oaie]|danneggiat\w*|sbagliat\w*|scollat\w*)\b", 2.5),
        (r"\b(?:defeituos\w*|quebrad\w*|danificad\w*|errad[oa]s?|descolad\w*)\b", 2.5),
        (r"\b(?:kapot|beschadigd|verkeerde maat)\b", 2.5),
        (
            r"\b(?:trasig\w*|skadad\w*|fel (?:storlek|färg|sko|modell)|gick sönder|i stykker|ødelagt\w*|forkert (?:størrelse|farve|model)"
            r"|feil (?:størrelse|farge|modell)|gikk i stykker|løsnet|rikki|viallinen|väärä\w*|irtosi|hajosi|uszkodzon\w*|wadliw\w*|zepsut\w*"
            r"|odkleił\w*|poškozen\w*|vadn\w*|rozbit\w*|špatn\w* (?:velikost|barv)\w*|kırık|bozuk|hasarlı|yanlış (?:numara|renk|ürün|beden)"
            r"|defolu|söküldü|deteriorat\w*|rupt\w*|greșit\w*|dezlipit\w*|χαλασμέν\w*|ελαττωματικ\w*|ξεκόλλησε|λάθος)\b",
            2.5,
        ),
    ],
    TOPIC_OTHER: [
        (r"\b(?:job|career|partnership|sponsor|collaborat|press|marketing|seo|crypto)\w*\b", 2.0),
    ],
}

_NO_REPLY = re.compile(
    r"^(?:thanks?|thank you|thx|ty|cheers|great|perfect|awesome|brilliant|lovely|got it|all (?:good|sorted)|received,? thanks?"
    r"|many thanks|noted|ok(?:ay)?|alright|understood|sounds good|will do|gracias|muchas gracias|merci|danke|vielen dank|herzlichen dank"
    r"|grazie|mille grazie|obrigad[oa]|muito obrigad[oa]|bedankt|dank je wel|dzi[eę]kuj[eę]|tack|tusen takk|tusind tak|kiitos|děkuji|te[sș]ekk[üu]r\w*|mul[tț]umesc|ευχαριστ\w*)"
    r"[\w\s,!.'\u2019-]{0,80}$",
    re.I,
)
# The customer says outright that no answer is needed.
_NO_REPLY_STATED = re.compile(
    r"\b(?:no (?:need|reason) to (?:reply|respond|answer|write back|get back)|no (?:reply|response|answer) (?:needed|necessary|required)"
    r"|(?:don'?t|do not) (?:need to )?(?:reply|respond|answer)|nothing (?:else )?(?:needed|to do) (?:from|on) your (?:side|end)"
    r"|no hace falta (?:responder|contestar)|pas besoin de r[ée]pondre|keine antwort (?:n[öo]tig|erforderlich)|non serve rispondere"
    r"|n[ãa]o precisa responder|geen antwoord nodig)\b",
    re.I,
)
# A thank-you that goes on to want something still needs an answer.
_STILL_WANTS = re.compile(
    r"\b(?:but|however|though|although|still|except|unfortunately|please|pls|plz|can you|could you|would you|need|want"
    r"|refund|return|cancel|send|wrong|broken|damaged|late|missing|not|no|never|n'?t|where|when|why|how)\b",
    re.I,
)
# Symbols and emoji carry no request; they are dropped before reading a short note.
_SYMBOLS = re.compile(r"[^\w\s,!.?'\u2019-]+")

# Hard urgency signals: (pattern, reason). Written against false alarms from sneaker talk:
# "these are fire", "basketball court shoes", "safety toe boots", "fell apart" (a defect),
# "the dye bled", "I work on hospital floors".
_DAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_SOON = rf"(?:today|tonight|tomorrow(?: morning| night)?|this (?:weekend|morning|afternoon|evening|{_DAY})|(?:by|before|on) {_DAY}|(?:by|before) (?:the weekend|tomorrow|tonight|end of (?:the )?day))"
_URGENT_CUES: list[tuple[str, str]] = [
    (
        r"\b(?:injur\w*|hurt(?:s|ing)? (?:my|her|his|their|me|him)|bleeding|blood\w*|blisters? (?:that |which )?(?:bled|burst|are bleeding)"
        r"|sprain\w*|(?:twist|roll)(?:ed|ing) (?:my|her|his) (?:ankle|knee|foot)|broke (?:my|her|his) (?:ankle|toe|foot|leg|wrist|arm)|fractur\w*"
        r"|(?:in|to|at|from) (?:the )?hospital|hospitali[sz]ed|emergency room|a&e|stitches|cut (?:my|his|her|their|open)|a cut on"
        r"|(?:i|she|he|my (?:son|daughter|kid|child|wife|husband|mum|mom|dad)) (?:fell|slipped|tripped)|had a fall|went flying"
        r"|rash\w*|allergic reaction|swollen|(?:foot|feet|skin|heel|toe)s? (?:was|were|is|are|got) (?:burning|burnt|burned)|burn(?:ed|t) (?:my|her|his)"
        r"|splint|sling|in a cast|x-?ray|lost (?:my|her|his) balance|fell (?:on|onto) (?:my|her|his)|(?:cut|gash(?:ed)?|sliced) (?:open|(?:my|her|his) (?:foot|toe|heel|leg|knee))"
        r"|herid[oa]s?|lesi[oó]n|torc[ií] el tobillo|tobillo (?:hinchado|inflamado)|inflamad[oa]|bless(?:é|ée|ure)s?|entorse|points? de suture|s'est ouvert"
        r"|verletz\w*|verstaucht|gen[äa]ht|ferit[oa]|distorsione|punti di sutura|sangr\w*|saign\w*|ampoules? (?:qui ont saign)|blutig|blutet"
        r"|torci o tornozelo|pele (?:ficou )?vermelha|co[çc]ando|verstuikt|enkel (?:is )?(?:dik|gezwollen)|gehecht)\b",
        "injury or harm reported",
    ),
    (
        r"\b(?:unsafe|dangerous|hazard\w*|safety (?:issue|hazard|risk|concern|problem)|caught fire|burst into flames|get(?:s|ting)? (?:really |very )?hot"
        # A smell alone is a complaint; what it does to a person is harm.
        r"|(?:smells?|smelled) of burning|chemical burns?|toxic|electric shock|overheat\w*|choking"
        r"|headaches?|dizz(?:y|iness)|nause(?:a|ous)|vomit\w*|(?:eyes?|skin|throat) (?:were |are |was |is )?(?:watering|burning|stinging|itching|itchy|irritated))\b",
        "safety risk reported",
    ),
    (
        r"\b(?:lawyers?|attorneys?|solicitors?|legal (?:action|proceedings|steps|advice|counsel|team)|sue|suing|lawsuit|take (?:you|this|it) to court"
        r"|see you in court|court case|small claims|trading standards|consumer (?:protection|rights|ombudsman|authority|agency|council)|ombudsman|regulator"
        r"|data protection (?:authority|commissioner|regulator)|the ico|cfpb|better business bureau|bbb complaint|formal (?:notice|complaint to)|section 75"
        r"|(?:commence|start|issue|begin) (?:legal )?proceedings|counsel for|filed (?:a complaint )?with the|\bftc\b|report(?:ing)? you to"
        r"|abogad[oa]s?|demanda(?:r|ré)?|denuncia\w*|oficina (?:municipal )?del consumidor|hoja de reclamaciones"
        r"|avocats?|mise en demeure|porte(?:r)? plainte|cnil|dgccrf|anwalt|rechtsanwalt|verbraucher(?:zentrale|schutz)|abmahnung"
        r"|avvocat[oi]|querela|codacons|advogad[oa]s?|procon|reclame aqui|advocaat|ingebrekestelling|juridisch loket|geschillencommissie|tribunal)\b",
        "legal action threatened",
    ),
    (
        rf"\b(?:can(?:no|'|\u2019)?t wait(?! (?:to|for (?:them|it) to arrive))|urgent(?:ly)?|urgente|dringend|emergency|time[- ]sensitive|last chance"
        rf"|(?:need|needs|needed|must|have to|has to|reply|respond|answer|confirm|know|arrive|get (?:them|it|here|there)|be here|sort(?:ed)? (?:it|this))"
        rf"\b[^.!?\n]{{0,60}}\b{_SOON}"
        rf"|(?:race|marathon|wedding|tournament|competition|match|game|final|birthday|trip|flight|interview|funeral|party|event)\b[^.!?\n]{{0,30}}\b(?:is |are |on )?{_SOON}"
        rf"|(?:moving|leaving|flying|travel+ing)\b[^.!?\n]{{0,30}}\b{_SOON}"
        rf"|(?:race|marathon|flight|wedding|trip|match|game|final|interview|funeral|event)\b[^.!?\n]{{0,20}}\bis (?:in|at) (?:\d+|a few|two|three) (?:hours?|days?)"
        rf"|(?:race|marathon|flight|wedding|trip|match|interview|funeral)\b[^.!?\n]{{0,20}}\b(?:is )?in the morning|within (?:\d+ ?h(?:ours?)?|24|48|72)\b"
        rf"|(?:closes|ends|expires) today|need to know (?:right )?now"
        rf"|hoy mismo|aujourd'hui même|oggi stesso|ainda hoje|lo antes posible|au plus vite|so schnell wie möglich"
        rf"|(?:necesito|las necesito|lo necesito|para la carrera|antes del?)\b[^.!?\n]{{0,40}}\b(?:hoy|mañana|s[áa]bado|domingo|viernes)"
        rf"|(?:besoin|il me (?:les )?faut|pour l'anniversaire|avant)\b[^.!?\n]{{0,40}}\b(?:aujourd'hui|demain|samedi|dimanche|vendredi)|le vol est demain"
        rf"|(?:brauche|bis)\b[^.!?\n]{{0,40}}\b(?:heute|morgen|samstag|sonntag|freitag)"
        rf"|(?:ho bisogno|mi servono|entro|parto)\b[^.!?\n]{{0,40}}\b(?:oggi|domani|sabato|domenica|venerd[iì])"
        rf"|(?:preciso|at[ée])\b[^.!?\n]{{0,40}}\b(?:hoje|amanh[ãa]|s[áa]bado|domingo|sexta)"
        rf"|(?:nodig|uiterlijk|v[óo][óo]r)\b[^.!?\n]{{0,40}}\b(?:vandaag|morgen|zaterdag|zondag|vrijdag)|met spoed|spoedig)\b",
        "customer says it cannot wait",
    ),
    # The customer counts the askings: "this is the fourth time", "fifth e-mail",
    # "c'est la quatrième fois", "vierte Nachricht" (not "the fourth time I order from you").
    (
        r"\b(?:(?:4|5|6|7|8|9|10)(?:th)?|fourth|fifth|sixth|seventh|umpteenth|cuarta|quinta|quatri[èe]me|cinqui[èe]me|vierte[nr]?|f[üu]nfte[nr]?"
        r"|sechste[nr]?|quarta|quinta|vierde|vijfde|czwart\w*|pi[ąa]t\w*|fj[äa]rde|femte|fjerde)\s+"
        r"(?:time|e-?mail|message|request|attempt|vez|fois|e-?mail|mail|nachricht|anfrage|mal|volta|volte|keer|bericht|raz|wiadomo\w*|g[åa]ng(?:en)?|gang)\b"
        r"(?![^.!?\n]{0,30}\b(?:order(?:ed|ing)?|bought|buy|purchas\w*|shop(?:ped|ping)?|bestell\w*|compr\w*|command\w*)\b)"
        r"|\b(?:asked|written|writing|emailed|e-mailed|contacted you|chased)\s+(?:you\s+)?(?:4|5|6|four|five|six|several|multiple|many)\s+times\b"
        r"|\bpo raz (?:czwarty|pi[ąa]ty)\b|\bper la (?:quarta|quinta) volta\b|\bpela (?:quarta|quinta) vez\b|\bpor (?:cuarta|quinta) vez\b|\bvoor de (?:vierde|vijfde) keer\b",
        "the customer says they have asked more than three times",
    ),
    # The same three signals in Polish, Czech, Turkish, Swedish, Danish, Norwegian, Finnish,
    # Greek and Romanian, and verb forms the lists above miss.
    (
        r"\b(?:krwaw\w*|krwawi\w*|krew|skr[ęe]ci\w* (?:kostk|nog)\w*|upad(?:ł|l)\w*|przewr[óo]ci\w*|zrani\w*|szpital\w*|pogotowi\w*|oparzeni\w*|wysypk\w*"
        r"|krv[áa]c\w*|upadl\w*|zranil\w*|nemocnic\w*|vyvrtnut\w*"
        r"|d[üu][şs]t[üu]m|d[üu][şs]t[üu]|kanad[ıi]|kan[ıi]yor|kanl[ıi]|incittim|yaraland\w*|burkuldu|burktum|hastane\w*|acil servis"
        r"|bl[öo]dde|bl[öo]der|blodig\w*|skadade|skadad|stukade|f[öo]ll (?:och|p[åa])|ramlade|sjukhus\w*|akuten|utslag"
        r"|bl[øo]dte|bl[øo]der|faldt|forstuvede|forstuet|skadet|sykehus\w*|skadestue|legevakt"
        r"|veren?vuoto|vuoti verta|kaatui|kaaduin|nyrj[äa]ht\w*|nyrj[äa]yt\w*|sairaala\w*|αίμα\w*|τραυματ\w*|έπεσα|νοσοκομε\w*"
        r"|s[âa]ngera\w*|am c[ăa]zut|a c[ăa]zut|r[ăa]nit\w*|spital\w*"
        r"|allerg\w*|alergi\w*|alergic\w*|alerji\w*|numbness|(?:toes?|feet|foot)\b[^.!?\n]{0,20}\bnumb|numb (?:toes?|feet|foot)"
        r"|geblutet|blute\w*|gest[üu]rzt|hingefallen|krankenhaus|notaufnahme|ausschlag|verbrannt"
        r"|me ca[íi]|se cay[óo]|urgencias|je suis tomb[ée]\w*|urgences|h[ôo]pital|sono caduto|sono caduta|pronto soccorso|ospedale|sanguin(?:a|ava|ano|ante|amento|are|ato)"
        r"|caí|caiu|pronto-socorro|gevallen|gewond|ziekenhuis|bloed(?:de|t|en)?)\b",
        "injury or harm reported",
    ),
    (
        r"\b(?:prawnik\w*|adwokat\w*|pozew|pozw\w*|sąd(?:zie|u)?|rzecznik\w* (?:praw )?konsument\w*|uokik|pr[áa]vn[íi]k\w*|soud\w*|čoi"
        r"|avukat\w*|dava (?:a[çc]|edece)\w*|mahkeme\w*|t[üu]ketici hakem|advokat\w*|st[äa]mma|stämning|konsumentverket|arn\b|forbrugerr[åa]det"
        r"|forbrukerr[åa]det|forbrukertilsynet|asianajaja\w*|kuluttajariita\w*|δικηγ[όο]ρ\w*|avocat\w*|anpc|instan[țt][ăa])\b",
        "legal action threatened",
    ),
    (
        r"\b(?:(?:potrzebuj\w*|musz[ęe])\b[^.!?\n]{0,40}\b(?:dzi[śs]|dzisiaj|jutr\w*|sobot\w*|niedziel\w*|pi[ąa]t\w*)"
        r"|(?:beh[öo]ver|m[åa]ste)\b[^.!?\n]{0,50}\b(?:idag|i dag|imorgon|i morgon|p[åa] (?:l[öo]rdag|s[öo]ndag|fredag))"
        r"|(?:har brug for|skal bruge|trenger|m[åa] ha)\b[^.!?\n]{0,40}\b(?:i dag|i morgen|p[åa] (?:l[øo]rdag|s[øo]ndag|fredag))"
        r"|(?:ihtiyac[ıi]m|laz[ıi]m|gerek)\w*\b[^.!?\n]{0,40}\b(?:bug[üu]n|yar[ıi]n|cumartesi|pazar)|(?:bug[üu]n|yar[ıi]n|cumartesi)\b[^.!?\n]{0,40}\b(?:laz[ıi]m|gerek)"
        r"|(?:tarvitse\w*)\b[^.!?\n]{0,40}\b(?:t[äa]n[äa][äa]n|huomenna|lauantai\w*|heti|v[äa]litt[öo]m[äa]sti)"
        r"|(?:potřebuj\w*|mám|musím)\b[^.!?\n]{0,60}\b(?:dnes|z[íi]tra|sobot\w*|do (?:pondělí|úterý|středy|čtvrtka|pátku|soboty|neděle))"
        r"|pilne|pilnie|acil|br[åa]dskande|haster|kiireellinen|urgent[ăa]|επείγον)\b",
        "customer says it cannot wait",
    ),
]

# Text that mentions urgency without the customer claiming it: injected directives
# ("priority=urgent", "mark this as urgent"), denials ("not urgent"), auto-replies.
_NOT_A_CLAIM = re.compile(
    r"(?:\b\w+\s*[=:]\s*(?:urgent|true|high)\b|mark (?:this|it|the (?:e-?mail|message)|this (?:e-?mail|message)) as (?:urgent|high priority|top priority)"
    r"|\b(?:not|no longer|nothing|isn'?t|is not|wasn'?t) (?:\w+ )?urgent|for urgent matters|no (?:huge |big )?rush|not in a (?:huge |big )?hurry"
    r"|\b(?:no es urgente|sin prisa|pas urgent|rien d'urgent|pas press[ée]|nicht dringend|keine eile|non (?:è )?urgente|nessuna fretta|n[ãa]o (?:é )?urgente|sem pressa"
    r"|niet dringend|geen haast|nie jest pilne|bez po[śs]piechu|inte br[åa]dskande|ingen br[åa]dska|ingen hast|ikke (?:travlt|hastverk)|ei kiire)\b"
    # An expected date is not a deadline: "it was meant to be here today", "due to arrive today".
    r"|\b(?:was|were|is|are|it'?s|should have been|should've been)\s+(?:meant|supposed|due|expected|scheduled|estimated|promised)\s+(?:to\s+)?(?:arrive|be (?:here|delivered|with me)|come|land|get here)\b[^.!?\n]{0,20}"
    # A profession is not a threat: "I'm a lawyer and run 5k a day", "as a defence attorney".
    r"|\b(?:i'?m|i am|as|sit as|work(?:ing)? as|being|my job as|i work as) an? (?:[\w-]+ ){0,3}(?:lawyer|attorney|solicitor|barrister|paralegal|judge"
    r"|magistrate|police ?(?:officer|man|woman)|officer|cop|detective|nurse|doctor|paramedic|firefighter|surgeon|physio\w*)\b"
    r"|\burgent my (?:foot|arse|ass|eye)\b"
    # Old, healed injuries as background: "I sprained my ankle back in 2021".
    r"|\b(?:sprain\w*|broke|injur\w*|hurt|fractur\w*|surgery|operation)\b[^.!?\n]{0,40}\b(?:back in (?:19|20)\d\d|in (?:19|20)\d\d|(?:\w+ )?years? (?:ago|back)|last year|as a (?:kid|child|teenager)|a while (?:back|ago)|long ago|long healed)\b"
    # What the customer wants to avoid is not what happened: "I don't want to get blisters".
    r"|\b(?:(?:don'?t|do not|never|wouldn'?t|would not) (?:want|like) (?:to )?(?:get|have|end up with|risk)|i'?d hate to|to (?:avoid|prevent)|without (?:getting|risking)"
    r"|so (?:that )?i (?:don'?t|won'?t) get|afraid of getting|worried about getting)\b[^.!?\n]{0,40}"
    # Phishing deadlines are the sender's, not the customer's.
    r"|^.*\b(?:click here|verify your (?:\w+ )?(?:account|identity|password)|your (?:\w+ )?(?:mailbox|account|password) (?:storage )?(?:is full|will be (?:permanently )?(?:suspended|deleted|closed|locked|terminated)|has (?:expired|been (?:suspended|locked)))"
    r"|avoid (?:permanent )?suspension|action required)\b.*$"
    r"|^\s*(?:system|admin|assistant|instruction)s?\b[^:\n]{0,40}:.*$|ignore (?:all |any )?(?:the )?(?:previous|prior|above) instructions.*$)",
    re.I | re.M,
)


def _compiled(cues: list[tuple[str, float]]) -> list[tuple[re.Pattern[str], float]]:
    return [(re.compile(p, re.I), w) for p, w in cues]


_COMPILED = {topic: _compiled(cues) for topic, cues in _TOPIC_CUES.items()}
_URGENT = [(re.compile(p, re.I), reason) for p, reason in _URGENT_CUES]


@lru_cache(maxsize=4096)
def score_topics(text: str) -> dict[str, float]:
    """Sum of cue weights per topic (callers must not change the dict: it is cached)."""
    return {
        topic: sum(w for pattern, w in cues if pattern.search(text))
        for topic, cues in _COMPILED.items()
    }


# A claim taken back: "URGENT!!! ...just kidding", "my lawyer will hear about this... kidding".
_RETRACTION = re.compile(r"\b(?:just |only |i'?m )?(?:kidding|joking|jk)\b", re.I)
_SENTENCE_STOP = re.compile(r"[.!?\n\u2026]")


@lru_cache(maxsize=4096)
def claims_only(text: str) -> str:
    """`text` without the parts that mention urgency without claiming it (injected
    directives, denials, expected delivery dates, auto-replies, claims taken back)."""
    for match in reversed(list(_RETRACTION.finditer(text))):
        # The retraction's own sentence and the one before it (the claim taken back).
        start = match.start()
        stops = [m.start() for m in _SENTENCE_STOP.finditer(text, 0, start)]
        # Skip the run of stops right before the retraction ("URGENT!!! ...kidding").
        while stops and text[stops[-1] + 1 : start].strip(" .!?\u2026") == "":
            start = stops.pop()
        start = stops[-1] + 1 if stops else 0
        end_stop = _SENTENCE_STOP.search(text, match.end())
        end = end_stop.start() if end_stop else len(text)
        text = text[:start] + " " + text[end:]
    return _NOT_A_CLAIM.sub(" ", text)


def urgency(text: str) -> str:
    """The first hard urgency signal the customer states, or an empty string."""
    text = claims_only(text)
    for pattern, reason in _URGENT:
        if pattern.search(text):
            return reason
    return ""


# Where a customer moves on to a second request: "also", "AND", "separately", numbered items.
_NEXT_REQUEST = re.compile(
    r"(?i:\b(?:and also|also|plus|separately|another thing|one more thing|on another note|secondly|besides"
    r"|y adem[áa]s|adem[áa]s|et aussi|de plus|par ailleurs|und au[ßs]erdem|au[ßs]erdem|e in pi[ùu]|inoltre"
    r"|e tamb[ée]m|al[ée]m disso|en ook|daarnaast|bovendien)\b)|\b(?:AND|UND|ET|Y|E)\b|(?:^|\s)\(?[2-9]\)\s|^\s*[2-9]\.\s",
    re.M,
)


def request_segments(text: str, min_words: int = 3) -> list[str]:
    """The parts of an e-mail split where the customer moves on to another request;
    a single part when there is no such marker."""
    parts = [p.strip(" ,;:-") for p in _NEXT_REQUEST.split(text)]
    return [p for p in parts if len(p.split()) >= min_words] or [text]


_SENTENCES = re.compile(r"(?<=[.!?\n])\s+")
# Clauses: sentences, also split where a comma or semicolon leads into "and", "but", "plus".
_CLAUSES = re.compile(r"(?<=[.!?\n])\s+|[,;]\s*(?=(?:and|but|plus|also)\b)", re.I)


def evidence(text: str, topic: str, *, clauses: bool = False) -> str:
    """The sentence (or clause) of `text` that carries the strongest cue for `topic`."""
    best, best_weight = "", 0.0
    for sentence in (_CLAUSES if clauses else _SENTENCES).split(text):
        weight = sum(w for pattern, w in _COMPILED[topic] if pattern.search(sentence))
        if weight > best_weight:
            best, best_weight = sentence.strip(), weight
    return best[:200]


def needs_no_reply(body: str) -> bool:
    """A short thank-you or acknowledgement that needs no answer, or a note that says no
    answer is needed; never one that asks a question."""
    text = " ".join(_SYMBOLS.sub(" ", body).split())
    if "?" in text:
        return False
    if _NO_REPLY_STATED.search(text):
        # What is left once the "no need to reply" itself is taken out must ask nothing.
        rest = _NO_REPLY_STATED.sub(" ", text)
        return len(text) <= 300 and not re.search(
            r"\b(?:please|pls|can you|could you|cancel|still|but|however)\b", rest, re.I
        )
    return bool(_NO_REPLY.match(text)) and not _STILL_WANTS.search(text)
