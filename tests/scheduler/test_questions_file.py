"""Questions and follow-up rules in a programme file (issue 15): read, and refused with the line."""
from pathlib import Path

import pytest

from scheduler.content import Track
from scheduler.programme import ProgrammeError, load_programme, parse_programme
from scheduler.questions_model import AnswerType, OwnerRole

CHECKIN_FILE = Path(__file__).resolve().parent / "programmes" / "checkin.toml"
CHECKIN = CHECKIN_FILE.read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """The line where the nth occurrence of needle (one or more lines) starts."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


@pytest.fixture(scope="module")
def checkin():
    return load_programme(CHECKIN_FILE)


def test_question_types_prompts_and_ranges_are_read(checkin):
    fever, stools, weight, kicks = checkin.questions
    assert [q.key for q in checkin.questions] == ["fever", "stools", "weight", "kicks"]
    assert fever.type is AnswerType.YES_NO and fever.keys == (1, 2)
    assert fever.prompts == {"fr": "q-fever-fr", "bm": "q-fever-bm"}
    assert stools.type is AnswerType.CHOICE and stools.keys == (1, 2, 3)
    assert stools.tracks == (Track.INFANT,) and stools.weeks == (1, 10)
    assert weight.type is AnswerType.NUMBER and weight.decimals == 1
    assert (weight.minimum, weight.maximum, weight.max_digits) == (15, 300, 3)
    assert kicks.messages == {"checkin-p002"} and kicks.tracks == ()
    assert checkin.question("weight") is weight
    assert hash(checkin) == hash(load_programme(CHECKIN_FILE))   # usable as a key
    with pytest.raises(KeyError, match="no question 'height'"):
        checkin.question("height")


@pytest.mark.parametrize("message, asked", [
    ("checkin-i001", ["fever", "weight"]),            # week 0: stools starts in week 1
    ("checkin-i002", ["fever", "stools", "weight"]),
    ("checkin-i011", ["fever", "stools", "weight"]),  # week 10, the last
    ("checkin-p001", []),
    ("checkin-p002", ["kicks"]),                      # named by its key
    ("checkin-p003", []),
])
def test_questions_follow_their_messages(checkin, message, asked):
    assert [q.key for q in checkin.questions_after(message)] == asked


def test_a_week_question_follows_only_the_first_message_of_the_week():
    text = CHECKIN.replace('key = "kicks"', 'key = "kicks"\ntrack = "pregnancy"', 1) \
        .replace('messages = ["checkin-p002"]\n', "", 1)
    p = parse_programme(text, "x.toml")
    assert [m.key for m in p.messages if p.questions_after(m.key)][:2] == \
        ["checkin-p001", "checkin-p003"]     # weeks 20 and 21: twice a week, asked once a week


def test_a_question_can_follow_both_tracks():
    text = CHECKIN.replace('key = "fever"\ntype = "yes_no"\ntrack = "infant"',
                           'key = "fever"\ntype = "yes_no"\ntrack = ["pregnancy", "infant"]', 1)
    p = parse_programme(text, "x.toml")
    asked = [m.key for m in p.messages if "fever" in [q.key for q in p.questions_after(m.key)]]
    assert asked[:3] == ["checkin-p001", "checkin-p003", "checkin-i001"] and len(asked) == 13
    error = _refused(text.replace('["pregnancy", "infant"]', '["infant", "infant"]'))
    assert "track must be" in error


def test_followup_rules_are_read(checkin):
    rules = {r.key: r for r in checkin.followups}
    assert list(rules) == ["fever", "diarrhoea", "weight-range", "weight-loss", "no-checkin"]
    assert rules["fever"].owner is OwnerRole.DOCTOR and rules["fever"].due_days == 1
    assert rules["fever"].reason == "fever reported" and rules["fever"].values == (1,)
    assert rules["diarrhoea"].reason == "stools: answered 3"          # described by default
    assert rules["weight-range"].values == (25, 250)
    assert rules["weight-range"].reason == "weight outside 2.5-25.0"
    assert rules["weight-loss"].reason == "weight lower than last week's"
    assert rules["no-checkin"].question is None and rules["no-checkin"].weeks == 2
    assert rules["no-checkin"].reason == "no check-in answered for 2 week(s)"


def test_programmes_without_questions_have_none(mmitra):
    assert mmitra.questions == () and mmitra.followups == ()
    assert mmitra.questions_after("mmitra-p001") == ()


W_PROMPTS = 'prompts = { fr = "q-weight-fr", bm = "q-weight-bm" }'
BAD_QUESTIONS = [
    (W_PROMPTS, 'prompts = { fr = "q-weight-fr" }', "question 'weight': no prompt in bm"),
    (W_PROMPTS, 'prompts = { fr = "q-weight-fr", bm = "q-weight-bm", en = "x" }',
     "prompt in 'en', not a language"),
    (W_PROMPTS, 'prompts = { fr = "q-weight-fr", bm = "Q W" }', "must be an audio key"),
    (W_PROMPTS, 'prompts = "q-weight"', "prompts must be a table"),
    ("min = 1.5", "min = 31", "impossible range: min 31 is above max 30"),
    ("min = 1.5", "min = 1.55", "min = 1.55 cannot be typed on the keypad with 1 decimal"),
    ("min = 1.5", "min = -1", "min = -1 cannot be typed"),
    ("max = 30", "max = 30.25", "max = 30.25 cannot be typed"),
    ("max = 30", 'max = "30"', "max = '30' cannot be typed"),
    ("max = 30", "max = 1e12", "needs more than 9 digits"),
    ("decimals = 1", "decimals = 4", "decimals must be an integer from 0 to 3"),
    ("keys = [1, 2, 3]", "keys = []", "a choice question needs keys"),
    ("keys = [1, 2, 3]", "keys = [1, 2, 2]", "keys must be distinct keys from 1 to 9"),
    ("keys = [1, 2, 3]", "keys = [0, 1]", "keys must be distinct keys from 1 to 9"),
    ("keys = [1, 2, 3]", "keys = [1, 10]", "keys must be distinct keys from 1 to 9"),
    ('type = "yes_no"', 'type = "free_text"', "type must be one of yes_no, choice, number"),
    ('key = "stools"\n', 'key = "fever"\n', "question key 'fever' is used twice"),
    ('key = "stools"', 'key = "Stools!"', "key must be lower-case letters"),
    ('messages = ["checkin-p002"]', 'messages = ["checkin-p099"]',
     "messages names 'checkin-p099', not a message"),
    ('messages = ["checkin-p002"]', 'messages = []', "messages must be a non-empty list"),
    ("weeks = [1, 10]", "weeks = [10, 1]", "weeks must be [first, last]"),
    ("weeks = [1, 10]", "colour = 3", "unknown key 'colour' in [[question]]"),
    ('keys = [1, 2, 3]                 # 1 normal, 2 soft, 3 liquid', 'note = "no keys"',
     "needs keys"),
    ('keys = [1, 2, 3]                 # 1 normal, 2 soft, 3 liquid', 'keys = [1]\ndecimals = 1',
     "decimals is for a number question, not choice", "decimals = 1"),
    ('type = "yes_no"', 'type = "yes_no"\nkeys = [1, 2]', "a yes_no question has the keys 1",
     "keys = [1, 2]\n"),
    ('decimals = 1 ', 'keys = [1]\ndecimals = 1 ', "keys is for a choice question"),
    ('track = "infant"\nprompts = { fr = "q-fever-fr"',
     'messages = ["checkin-i001"]\ntrack = "infant"\nprompts = { fr = "q-fever-fr"',
     "give either track (with weeks, optional) or messages"),
    ('track = "infant"\nweeks = [1, 10]', 'track = "toddler"\nweeks = [1, 10]',
     "track must be \"pregnancy\", \"infant\" or a list of both"),
    ('messages = ["checkin-p002"]', 'messages = ["checkin-p002"]\nweeks = [1, 2]',
     "weeks goes with track", "weeks = [1, 2]"),
]


@pytest.mark.parametrize("good, bad, message, where", [b if len(b) == 4 else (*b, b[1])
                                                      for b in BAD_QUESTIONS],
                         ids=[f"{i}-{b[2][:30]}" for i, b in enumerate(BAD_QUESTIONS)])
def test_a_bad_question_is_refused_with_its_line(good, bad, message, where):
    """`where`: the text at the line named (the bad text itself unless given)."""
    assert good in CHECKIN
    text = CHECKIN.replace(good, bad, 1)
    with pytest.raises(ProgrammeError) as e:
        parse_programme(text, "x.toml")
    assert message in str(e.value)
    if message == "needs keys":    # no keys line: the line of its [[question]] (the second)
        expected = line_of(text, "[[question]]", 1)
    else:
        expected = line_of(text, where, 1 if "used twice" in message else 0)
    assert str(e.value).startswith(f"x.toml, line {expected}:"), str(e.value)


BAD_RULES = [
    ('question = "fever"\nequals', 'question = "temperature"\nequals',
     "question 'temperature' is not a question of the programme", 'question = "temperature"'),
    ('equals = "yes"', "equals = 1", 'equals must be "yes" or "no", got 1', "equals = 1"),
    ('in = [3]', 'in = [4]', "in must list keys of question 'stools' (1, 2, 3)", "in = [4]"),
    ('outside = [2.5, 25]', 'outside = [25, 2.5]', "outside must be [min, max]",
     "outside = [25, 2.5]"),
    ('outside = [2.5, 25]', 'outside = [2.55, 25]', "outside must be [min, max]",
     "outside = [2.55, 25]"),
    ('change = "lower"', 'change = "less"', 'change must be "lower" or "higher"',
     'change = "less"'),
    ('absent_weeks = 2', 'absent_weeks = 0', "absent_weeks must be an integer from 1 to 52",
     "absent_weeks = 0"),
    ('owner = "agent"', 'owner = "nurse"', "owner must be one of health_worker, agent, doctor, "
     "call_centre", 'owner = "nurse"'),
    ("due_days = 3", "due_days = -1", "due_days must be an integer from 0 to 365",
     "due_days = -1"),
    ('key = "weight-loss"', 'key = "fever"', "follow-up rule key 'fever' is used twice",
     'key = "fever"\nquestion = "weight"'),
    ('reason = "fever reported"', 'reason = " "', "reason must be a non-empty text",
     'reason = " "'),
    ('change = "lower"', 'change = "lower"\nequals = "yes"', "give exactly one condition",
     'change = "lower"\nequals'),
    ('change = "lower"', 'change = "lower"\nlook_back_weeks = 0',
     "look_back_weeks must be an integer from 1 to 52", "look_back_weeks = 0"),
    ('in = [3]', 'in = [3]\nlook_back_weeks = 2', "look_back_weeks goes with change",
     "look_back_weeks = 2"),
    ('in = [3]', 'in = [3]\nwhen = 2', "unknown key 'when' in [[followup]]", "when = 2"),
]
# comparing a yes/no with a number, a number with keys... : refused, naming the condition's line
MISMATCHED = [
    ('question = "fever"\nequals', 'question = "weight"\nequals',
     "equals compares a yes/no answer; question 'weight' is number (use outside or change)"),
    ('question = "weight"\noutside', 'question = "fever"\noutside',
     "outside compares numbers; question 'fever' is yes_no (use equals)"),
    ('question = "weight"\nchange', 'question = "stools"\nchange',
     "change compares numbers; question 'stools' is choice (use in)"),
    ('question = "stools"\nin', 'question = "fever"\nin',
     "in lists keys of a choice; question 'fever' is yes_no (use equals)"),
]


def _refused(text: str) -> str:
    with pytest.raises(ProgrammeError) as e:
        parse_programme(text, "x.toml")
    return str(e.value)


@pytest.mark.parametrize("good, bad, message, line", BAD_RULES,
                         ids=[f"{i}-{b[2][:30]}" for i, b in enumerate(BAD_RULES)])
def test_a_bad_followup_rule_is_refused_with_its_line(good, bad, message, line):
    assert good in CHECKIN
    text = CHECKIN.replace(good, bad, 1)
    error = _refused(text)
    assert message in error
    assert error.startswith(f"x.toml, line {line_of(text, line)}:"), error


@pytest.mark.parametrize("good, bad, message", MISMATCHED, ids=[m[2][:25] for m in MISMATCHED])
def test_a_followup_rule_comparing_the_wrong_type_is_refused(good, bad, message):
    assert good in CHECKIN
    text = CHECKIN.replace(good, bad, 1)
    error = _refused(text)
    assert message in error
    condition_line = line_of(text, bad) + 1          # the condition, under the question line
    assert error.startswith(f"x.toml, line {condition_line}:"), error


def test_a_rule_needs_its_question_except_for_absence():
    text = CHECKIN.replace('question = "weight"\nchange', 'change', 1)
    error = _refused(text)
    assert "question is required" in error
    header = line_of(text, "[[followup]]", 3)
    assert error.startswith(f"x.toml, line {header}:"), error


def test_pesinet_asks_the_weekly_child_questions():
    p = load_programme("pesinet")
    assert (p.languages, p.fallback_language, p.timezone, p.region) == (
        ("fr", "bm"), "fr", "Africa/Bamako", "ML")
    assert len(p.messages) == 260 and {m.track for m in p.messages} == {Track.INFANT}
    assert all([q.key for q in p.questions_after(m.key)] == ["fever", "stools", "weight"]
               for m in p.messages)
    weight = p.question("weight")
    assert (weight.decimals, weight.minimum, weight.maximum) == (1, 10, 300)
    owners = {r.key: r.owner for r in p.followups}
    assert owners == {"fever": OwnerRole.DOCTOR, "diarrhoea": OwnerRole.DOCTOR,
                      "weight-loss": OwnerRole.DOCTOR, "no-checkin": OwnerRole.AGENT}


def test_m2m_asks_medicine_weekly_and_satisfaction_now_and_then():
    p = load_programme("m2m")
    assert p.languages == ("en", "sw", "pt") and p.allow_foreign_numbers
    asked = {m.key: [q.key for q in p.questions_after(m.key)] for m in p.messages}
    assert all(keys[0] == "medicine" for keys in asked.values())      # every week, both tracks
    satisfaction = [k for k, keys in asked.items() if "satisfaction" in keys]
    assert [p.message(k).week for k in satisfaction] == [12, 24, 36, 6, 26, 52, 78, 103]
    assert p.question("satisfaction").keys == (1, 2, 3, 4, 5)
    assert {r.key: r.owner for r in p.followups} == {
        "missed-medicine": OwnerRole.HEALTH_WORKER, "unhappy": OwnerRole.CALL_CENTRE,
        "no-checkin": OwnerRole.HEALTH_WORKER}
