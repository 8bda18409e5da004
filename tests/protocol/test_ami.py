import pytest

from ivr.adapters.ami import Originate
from ivr.protocol.ami import (Hangup, OtherEvent, UnsafeValue, UserEvent, channel_variables, mask,
                              parse_event, parse_originate_response, phone_digits, safe)


def test_hangup_event_is_typed_with_its_channel_variables():
    ev = parse_event({"Event": "Hangup", "Channel": "Local/100@sim-phones-00000001;2",
                      "Uniqueid": "ivr-7-abc-2", "Linkedid": "ivr-7-abc", "Cause": "17",
                      "Cause-txt": "User busy", "ChanVariable": "IVR_ATTEMPT_ID=7"})
    assert ev == Hangup(uniqueid="ivr-7-abc-2", linkedid="ivr-7-abc",
                        channel="Local/100@sim-phones-00000001;2", cause=17,
                        cause_text="User busy", variables={"IVR_ATTEMPT_ID": "7"})


def test_repeated_channel_variables_become_a_dict():
    assert channel_variables({"ChanVariable": ["A=1", "B=x=y", "junk"]}) == {"A": "1", "B": "x=y"}
    assert channel_variables({}) == {}


def test_user_event_keeps_its_body_only():
    ev = parse_event({"Event": "UserEvent", "UserEvent": "IvrMissedCall", "Privilege": "user,all",
                      "Caller": "919000010001", "DID": "18001234567"})
    assert isinstance(ev, UserEvent) and ev.name == "IvrMissedCall"
    assert ev.headers == {"Caller": "919000010001", "DID": "18001234567"}


def test_other_events_are_only_named():
    assert parse_event({"Event": "Newchannel", "Channel": "x"}) == OtherEvent("Newchannel")


def test_failed_originate_response_has_no_uniqueid():
    r = parse_originate_response({"Event": "OriginateResponse", "ActionID": "orig-1",
                                  "Response": "Failure", "Reason": "0", "Uniqueid": "<unknown>",
                                  "Channel": "Local/600@sim-phones"})
    assert (r.success, r.reason, r.uniqueid, r.action_id) == (False, 0, None, "orig-1")


@pytest.mark.parametrize("value", ["a\r\nAction: Command", "x\n", "nul\x00"])
def test_values_that_could_inject_headers_are_refused(value):
    with pytest.raises(UnsafeValue):
        safe(value)
    with pytest.raises(UnsafeValue):
        Originate(action_id="a", channel="Local/1@x", context="c", exten="s", timeout=1,
                  channel_id="i", caller_id=value).action()


def test_originate_action_carries_ids_and_variables():
    a = Originate(action_id="orig-1", channel="PJSIP/919000010001@carrier", context="ivr-outbound",
                  exten="s", timeout=30, channel_id="ivr-1-ab",
                  variables={"__IVR_ATTEMPT_ID": "1", "IVR_LANG": "hi"}).action()
    assert a["Timeout"] == "30000" and a["Async"] == "true"
    assert a["ChannelId"] == "ivr-1-ab" and a["OtherChannelId"] == "ivr-1-ab-2"
    assert a["Variable"] == ["__IVR_ATTEMPT_ID=1", "IVR_LANG=hi"]


@pytest.mark.parametrize("raw,digits", [("+91 90000-10001", "919000010001"), ("100", "100"),
                                        ("(022) 555.1234", "0225551234"),
                                        ("9190000\r\n1", "91900001")])  # whitespace is dropped
def test_phone_digits(raw, digits):
    assert phone_digits(raw) == digits


@pytest.mark.parametrize("raw", ["", "12", "91900001000123456", "9190000;1", "abc", "+91+9", "91900001\x00"])
def test_bad_phone_numbers(raw):
    with pytest.raises(ValueError):
        phone_digits(raw)


def test_mask_keeps_only_last_three_digits():
    assert mask("919000010001") == "*********001"
    assert mask("12") == "***" and mask(None) == "-"
