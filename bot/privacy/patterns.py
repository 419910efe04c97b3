"""The regular expressions of the privacy layer, compiled once at import, and the cheap pre-checks.

What an identifier looks like (dates of birth, record numbers, phones, e-mail, streets and postcodes), the
spans that are never identifiers (trial registry ids, citations, eponyms, institutions named after people),
the context around a person's name (titles, "name is", "Dear", "68F" after it), and the trigger words that
let a detector skip a message that cannot hold what it looks for. The detectors that use them are in
`numbers`, `addresses`, `names` and `redaction`. A trigger-word set must hold every keyword its pattern
starts with: a keyword missing from the set switches that pattern off.

Imports: the standard library and `bot.privacy.vocabulary`. Never rasa, rasa_sdk, sanic or spaCy.
"""
from __future__ import annotations

import re

from .vocabulary import STREET_SUFFIXES, US_STATES

_I = re.IGNORECASE

# ---- dates (of birth) ------------------------------------------------------------------------------------
MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
         r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_FULL_DATE_FORMS = (  # 03/04/1956, 3.4.56, 1956-04-03, 3 April 1956, 4th of July 1948, March 4, 1953
    r"\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?![\d/.\-]?\d)"
    r"|\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}(?!\d)"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[ \t\-]+(?:of[ \t]+)?{MONTH}[ \t,\-]+(?:\d{{4}}|'?\d{{2}})(?!\d)"
    rf"|{MONTH}[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}}(?!\d)"
)
_FULL_DATE = f"(?:{_FULL_DATE_FORMS})"
_DOB_DATE = (  # after a DOB keyword also: April 1956, 03041956, 030456, 1956
    rf"(?:{_FULL_DATE_FORMS}"
    rf"|{MONTH}[ \t,]+\d{{4}}(?!\d)"
    r"|\d{8}(?!\d)|\d{6}(?!\d)"
    r"|(?:19|20)\d{2}(?!\d)"
    r"|\d{1,2}[/.\-]\d{1,2}(?![\d/.\-]))"  # day and month only
)
DOB_RE = re.compile(
    r"(?<![\w\[])(?:d\.?[ \t]?o\.?[ \t]?b\.?|y\.?o\.?b\.?|date[ \t]+of[ \t]+birth|year[ \t]+of[ \t]+birth|"
    r"birth[ \t]?date|"
    r"birthday|born(?:[ \t]+(?:on|in))?|b\.)(?![^\W\d_])"
    r"[ \t]*(?:[:=\-–]|is|was)?[ \t]*(?:\([ \t]*)?"
    rf"(?P<date>{_DOB_DATE})", _I)

# ---- e-mail ----------------------------------------------------------------------------------------------
EMAIL_RE = re.compile(r"(?<![\w.+\-])[\w.+\-']+@[\w\-]+(?:\.[\w\-]+)+")

# ---- record numbers --------------------------------------------------------------------------------------
_RECORD_KEYWORD = (
    r"(?:MRN|MR[ \t]*#|MR[ \t]*(?:no|num|number)\.?|medical[ \t]+record(?:[ \t]+(?:number|no\.?|num|#))?|"
    r"hospital[ \t]+(?:number|no\.?|num|#|id)|hosp\.?[ \t]*(?:number|no\.?|num|#|id)|"
    r"record[ \t]+(?:number|no\.?|#)|NHS[ \t]*(?:number|no\.?|num|#)?|CHI(?:[ \t]*(?:number|no\.?))?|"
    r"UR[ \t]*(?:number|no\.?|#)?|URN|unit[ \t]+(?:number|no\.?)|patient[ \t]+(?:id|number|no\.?|#)|"
    r"pt\.?[ \t]*(?:id|no\.?|#)|ID|SSN|social[ \t]+security(?:[ \t]+(?:number|no\.?|#))?|MBI|"
    r"medicare[ \t]+(?:number|no\.?|#|id)|insurance[ \t]+(?:id|number|no\.?|#)|member[ \t]+id|"
    r"national[ \t]+insurance(?:[ \t]+(?:number|no\.?))?|NI[ \t]+(?:number|no\.?)|"
    r"passport(?:[ \t]+(?:number|no\.?))?|health[ \t]+card(?:[ \t]+(?:number|no\.?))?|PHN|IHI|HRN|EMPI|"
    r"case[ \t]+(?:number|no\.?|#)|accession[ \t]+(?:number|no\.?|#)|encounter[ \t]+(?:number|no\.?|#|id)|"
    r"identifier|reference[ \t]+(?:number|no\.?)|ref[ \t]*(?:no\.?|#)|ref)"
)
RECORD_RE = re.compile(
    rf"(?<![\w\[]){_RECORD_KEYWORD}(?![^\W\d_])[ \t]*(?:[:#=\-–]|is|was|no\.?)?[ \t]*(?:[:#][ \t]*)?"
    r"(?P<id>\d{3}[ \-]\d{3}[ \-]\d{4}(?!\d)|\d{3}-\d{2}-\d{4}(?!\d)"
    r"|[A-Za-z]{0,4}[\-/]?\d[\dA-Za-z]*(?:[\-/.]\d[\dA-Za-z]*)*(?:[\-/][A-Za-z]{1,3}(?![\w]))?)", _I)
BARE_ID_RE = re.compile(
    r"\d(?<![\d\-]\d)\d\d-\d{2}-\d{4}(?![\d\-])"             # SSN-like 123-45-6789
    r"|\#(?<![\w&]\#)[ \t]?\d{5,}(?!\d)"                      # #12345
    r"|[A-Z](?<![\w\-][A-Z])[A-Z]{0,2}-?\d{6,}[A-Z]?(?![\w])"  # A1234567, RX-4458812
    r"|\d(?<![\w.,]\d)\d{6,}(?!\w|[.,]\d)")                    # 7+ digits

# ---- phone numbers ---------------------------------------------------------------------------------------
PHONE_CAND_RE = re.compile(  # 7+ digits with single separators: 07700 900123, (212) 555-0187, +44 (0)20 7946 0958
    r"(?<![\w/.\-+])(?:\+[ \t]?|\(\+?)?\d(?:(?:[ \t.\-]|[ \t]?[()][ \t]?){0,2}\d){6,16}\)?(?![\w/])")
PHONE_CONTEXT_RE = re.compile(
    r"(?:\b(?:tel|telephone|phone|ph|mob|mobile|cell|cellphone|contact|call|calls|fax|landline|whatsapp|"
    r"text|sms|pager|bleep|number|no|home|work)\b\.?[ \t]*(?:number|no\.?|#)?[ \t]*(?:[:=\-–]|on|at|is)?[ \t]*)$",
    _I)
PHONE_EXT_RE = re.compile(r"[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,5}(?!\d)", _I)

# ---- addresses -------------------------------------------------------------------------------------------
_STREET_SUFFIX = "(?:" + "|".join(STREET_SUFFIXES) + ")"  # Street|St|Road|Rd|...
_CAP_WORD = r"[A-Z][a-zà-ÿ'’]+(?:-[A-Z][a-zà-ÿ'’]+)?"
STREET_RE = re.compile(
    r"(?<![\w])(?P<pre>(?:Flat|Apt\.?|Apartment|Unit|Suite|Ste\.?)[ \t]*\w{1,5},?[ \t]+)?"
    r"\d{1,5}[A-Za-z]?(?:[\-/]\d{1,5}[A-Za-z]?)?,?[ \t]+"
    rf"(?P<words>(?:{_CAP_WORD}[ \t]+){{1,4}}){_STREET_SUFFIX}\.?(?![\w])")
STREET_FOREIGN_RE = re.compile(
    r"(?<![\w])(?:\d{1,5}[A-Za-z]?,?[ \t]+)?(?i:rue|calle|via|viale|avenida|rua|piazza|plaza|carrer|ulica|ul\.|avenue)"
    r"[ \t]+(?:(?:de|del|la|le|des|du|di|da|do|dos|das|della|dei)[ \t]+)*"
    rf"{_CAP_WORD}(?:[ \t]+(?:{_CAP_WORD}|de|del|la|le|des|du|di|da|do|dos|das))*"
    r"(?:[ \t]+\d{1,5}[A-Za-z]?(?![\w]))?")
STREET_GERMAN_RE = re.compile(
    r"(?<![\w])[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|ring|ufer|chaussee)"
    r"[ \t]+\d{1,4}[a-z]?(?![\w])")
PO_BOX_RE = re.compile(r"(?<![\w])P\.?[ \t]?O\.?[ \t]+Box[ \t]+\d{1,6}(?![\w])", _I)
ADDRESS_CONTEXT_RE = re.compile(
    r"(?:\b(?:home[ \t]+|postal[ \t]+|current[ \t]+|mailing[ \t]+)?address(?:[ \t]+is)?[ \t]*[:\-–]?|"
    r"\blives[ \t]+at|\bresides[ \t]+at|\bresiding[ \t]+at|\bliving[ \t]+at)[ \t]*", _I)
UK_POSTCODE = r"(?P<area>[A-Z](?<![\w][A-Z])[A-Z]?)\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2}(?![\w])"
UK_POSTCODE_RE = re.compile(UK_POSTCODE)
CA_POSTCODE_RE = re.compile(r"[ABCEGHJ-NPRSTVXY](?<![\w][A-Z])\d[A-Z][ \t]\d[A-Z]\d(?![\w])")
_US_STATES = "|".join(US_STATES)  # AL|AK|AZ|...
STATE_ZIP_RE = re.compile(rf"(?<![\w])(?:{_US_STATES})[ \t]+(?P<zip>\d{{5}}(?:-\d{{4}})?)(?![\w])")
ZIP_CONTEXT_RE = re.compile(
    r"(?<![\w])(?:zip(?:[ \t]*code)?|post[ \t]?code|postal[ \t]+code|plz)[ \t]*[:\-–]?[ \t]*"
    r"(?P<code>[A-Z0-9]{2,5}(?:[ \t\-][A-Z0-9]{3,4})?)(?![\w])", _I)
CHUNK_SEP_RE = re.compile(r"[ \t]*,[ \t]*|[ \t]+")
TOWN_RE = re.compile(r"[A-Z][\w'’\-]+(?:[ \t]+(?:[A-Z][\w'’\-]+|upon|on|under|le|de|la|sur))*(?![\w])")
DIRECTION_RE = re.compile(r"(?:N|S|E|W|NE|NW|SE|SW)\.?(?![\w])")
ZIP_ALONE_RE = re.compile(r"\d{5}(?:-\d{4})?(?![\w])")
STATE_ZIP_AT_RE = re.compile(rf"(?:{_US_STATES})(?:[ \t]+\d{{5}}(?:-\d{{4}})?)?(?![\w])")
ADDRESS_START_RE = re.compile(
    rf"(?:\d{{1,5}}[A-Za-z]?(?:[\-/]\d{{1,5}})?,?[ \t]+)?{_CAP_WORD}"
    rf"(?:[ \t]+(?:{_CAP_WORD}|\d{{1,5}}|(?:de|des|du|la|le|del|di|da|do|dos|das|van|von|der|den)(?=[ \t]+[A-Z])))*")

# ---- protected spans -------------------------------------------------------------------------------------
# Spans that are clinical or bibliographic facts, never identifiers: trial registry ids, references,
# eponymous phrases and institutions that contain person names.
PROTECTED_RE = re.compile(
    r"(?<![\w])(?:NCT\d{8}|ISRCTN\d{8}|ACTRN\d{14}|EudraCT[\s:#No.]*\d{4}-\d{6}-\d{2}|\d{4}-\d{6}-\d{2}"
    r"|PMID:?[ \t]*\d{1,9}|PMCID:?[ \t]*PMC\d+|doi:?[ \t]*10\.\d{4,9}/\S+|10\.\d{4,9}/[\-._;()/:A-Za-z0-9]+"
    r"|(?:[A-Z][\w'’\-]+[ \t]+)?[A-Z][\w'’\-]+,?[ \t]+et[ \t]+al\b\.?"  # citations: Moreau et al.
    r"|Johnson[ \t]*(?:&|and)[ \t]*Johnson|Bristol[\s\-]+Myers(?:[\s\-]+Squibb)?|Bence[\s\-]+Jones"
    r"|MD[\s\-]+Anderson|Dana[\s\-]+Farber|(?:Memorial[ \t]+)?Sloan[\s\-]+Kettering"
    r"|Mayo[ \t]+Clinic|Royal[ \t]+Marsden|The[ \t]+Christie|Johns[ \t]+Hopkins|Mount[ \t]+Sinai"
    r"|Cleveland[ \t]+Clinic|Fred[ \t]+Hutch(?:inson)?|City[ \t]+of[ \t]+Hope|Princess[ \t]+Margaret"
    r"|Peter[ \t]+MacCallum|Durie[\s\-]+Salmon|Kaplan[\s\-]+Meier|Cockcroft[\s\-]+Gault|Mann[\s\-]+Whitney"
    r"|Guy['’]?s(?:[ \t]+(?i:and|&)[ \t]+St\.?[ \t]+Thomas['’]?s?)?"
    r"|St\.?[ \t]+(?:Thomas|James|George|Mary|Bartholomew|Luke|John|Vincent|Michael|Peter|Helier|Richard|Jude"
    r"|Anne)['’]?s?"
    r"(?![\w])|St\.?[ \t]+[A-Z][a-z]+['’]?s?(?=[ \t]+(?:Hospital|"
    r"Infirmary|University|Medical|Cancer|Health))|Addenbrooke['’]?s|Charing[ \t]+Cross|King['’]?s[ \t]+College"
    r"|University[ \t]+College|Massachusetts[ \t]+General|Mass[ \t]+General|Sir[ \t]+Charles[ \t]+Gairdner"
    r"|(?:[A-Z][a-z]+[ \t]+){1,2}(?=(?:Hospital|Infirmary|Cancer[ \t]+Cent(?:re|er)|Medical[ \t]+Cent(?:re|er)"
    r"|Clinic|Foundation|Institute|Trust)\b))")

# ---- person names: words and their context ---------------------------------------------------------------
TOKEN_RE = re.compile(r"(?<![\w'’])[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+(?:['’][^\W\d_]+)*)*")
# Same tokens, starting with an upper-case letter (Latin, Latin-1/Extended-A, Greek, Cyrillic): the fast path.
CAP_TOKEN_RE = re.compile(r"[A-ZÀ-ÖØ-ÞĀ-ſΑ-ΩА-ЯЁ](?<![\w'’][A-ZÀ-ÖØ-ÞĀ-ſΑ-ΩА-ЯЁ])"
                          r"[^\W\d_]*(?:['’][^\W\d_]+)*"
                          r"(?:-[^\W\d_]+(?:['’][^\W\d_]+)*)*")
TITLE_CTX = re.compile(
    r"(?<![\w])(?:mr|mrs|ms|miss|mx|dr|drs|prof|professor|sir|dame|lady|lord|rev|revd|fr|sister|nurse|doctor|"
    r"mister|madam|mme|mlle|herr|frau|sra|sr|señora|señor|sig|sig\.ra|dott|dott\.ssa)\.?[ \t]+"
    r"(?:(?:van|von|de|da|di|del|della|der|den|du|la|le|ter|ten|al|el|bin|ibn|abu|st\.?)[ \t]+){0,3}$", _I)
PARTICLES_BEFORE_RE = re.compile(
    r"(?:(?<![\w])(?:van|von|de|da|di|del|della|der|den|du|la|le|ter|ten|al|el|bin|ibn|abu)[ \t]+){1,3}$")
NAME_CTX = re.compile(
    r"(?:\b(?:(?:patient|pt|patient's|pt's|full|first|last|family|given|sur|fore|maiden|preferred|middle)[ \t]*"
    r"names?|names?|named|called|known[ \t]+as|surname|forename|goes[ \t]+by|my[ \t]+name[ \t]+is)"
    r"(?:[ \t]*(?:is|was|of|[:=\-–]))?[ \t]*)$", _I)
STRONG_CTX = re.compile(
    r"(?:\bre[ \t]*:|\bregarding|\bdear|\b(?:kind[ \t]+|best[ \t]+|warm[ \t]+|many[ \t]+)?regards[ \t]*,?|"
    r"\bsincerely[ \t]*,?|\bthanks[ \t]*,|\bsigned|\battn|\battention|\bnok|\bnext[ \t]+of[ \t]+kin|"
    r"\b(?:his|her|their|the|my|our|patient's|pt's)[ \t]+(?:wife|husband|son|daughter|mother|father|brother|"
    r"sister|partner|spouse|carer|niece|nephew|friend|neighbour|neighbor|gp|consultant|grandson|"
    r"granddaughter)|\bspouse|\bcarer|"
    r"\b(?:seen|reviewed|referred|discussed|examined|dictated|written|requested|authored|covered|"
    r"supervised)[ \t]+(?:by|with)|\b(?:treated|managed|transplanted|looked[ \t]+after)[ \t]+by|"
    r"\breferring[ \t]+(?:doctor|physician|clinician|consultant|haematologist|hematologist|oncologist)|"
    r"\bconsultant|\bgp|\bcc|\bfrom[ \t]*:|\bi[ \t]?['’]?[ \t]?a?m|\bthis[ \t]+is|\bto[ \t]*:|\bauthor|\bc/o|"
    r"\bcare[ \t]+of)[ \t]*[:\-–]?\s*$", _I)
PATIENT_CTX = re.compile(r"\b(?:patient|pt|client)\.?[ \t]*(?:[:\-–]|is|was)?[ \t]*$", _I)
WEAK_CTX = re.compile(r"\b(?:pts|for|with|about|re|visiting|and)\.?[ \t]*[:\-–]?[ \t]*$", _I)
FOLLOWED_RE = re.compile(
    r"[ \t]*[,(\-–:]?[ \t]*\(?[ \t]*(?:\d{1,3}[ \t]?(?:[MFmf](?![\w])|yo\b|y/?o\b|y\.o\.|yrs?\b|years?\b|"
    r"-?years?-old|-?yr)|aged?[ \t]+\d|(?:MRN|DOB|D\.O\.B|NHS|hosp|UR|URN|CHI|SSN|born)\b|ID[ \t:#]|"
    r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?!\d))")
COMMA_RE = re.compile(r",[ \t]?")
DOB_AFTER_NAME_RE = re.compile(r"[ \t]*[,(\-–]?[ \t]*\(?[ \t]*(?P<date>" + _FULL_DATE + ")", _I)

INITIALS_RE = re.compile(  # "initials J.W.", "pt initials: AB"
    r"\b(?i:initials?)[ \t]*(?:[:=\-–]|(?i:are|is))?[ \t]*(?P<i>(?:[A-Z][ \t.]{0,2}){1,3}[A-Z]\.?)(?![\w])")

PLACE_BEFORE_RE = re.compile(
    r"\b(?:from|in|to|at|near|of|via|into|towards|around|across|outside|inside|within|visiting|travelling|"
    r"traveling|moved|lives|living|born)[ \t]+$", _I)
TITLE_CASE_WORD_RE = re.compile(r"[^\W\d_]{2,}")

# ---- pre-checks ------------------------------------------------------------------------------------------
# A detector runs only when the message holds one of its trigger words (lower case, as WORD_RE finds them).
WORD_RE = re.compile(r"[a-z]+")
RECORD_WORDS = frozenset("""mrn mr medical hospital hosp record nhs chi ur urn unit patient pt id ssn social mbi
medicare insurance member national ni passport health phn ihi hrn empi case accession encounter identifier
reference ref""".split())
DOB_WORDS = frozenset("dob d b yob y date year birth birthday birthdate born".split())
ADDRESS_WORDS = frozenset("""address lives resides residing living box zip postcode post postal plz rue calle via
viale avenida rua piazza plaza carrer ulica ul avenue""".split())
STREET_WORDS = frozenset(s.lower() for s in STREET_SUFFIXES)  # street st road rd ...
NUMBERISH_RE = re.compile(r"\d[\d \t().\-/]{5,}\d|\d{5}")
GERMAN_STREET_HINT = re.compile(r"(?:ß|ss)e[ \t]+\d|(?:str\.|weg|gasse|platz|allee|damm|ring|ufer|chaussee)[ \t]+\d")
CAPDIGIT_RE = re.compile(r"[A-Z]\d")
