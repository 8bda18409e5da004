"""A missed call's caller ID (as the dialplan keeps it) becomes her stored number."""
import pytest

from ivr.phone import Phone


@pytest.mark.parametrize("raw,expected", [
    ("+91 98765 43210", "919876543210"),
    ("919876543210", "919876543210"),
    ("09876543210", "919876543210"),
    ("9876543210", "919876543210"),
    ("+919000011", "919000011"),          # the sandbox's simulated numbers stay as they are
    ("919000011", "919000011"),
    ("+254 712 345678", "254712345678"),  # Kenya, from abroad
])
def test_normalised_to_e164_digits(raw, expected):
    assert Phone.from_caller_id(raw, "IN") == Phone(expected)


def test_region_of_the_programme_applies_to_national_numbers():
    assert Phone.from_caller_id("0712345678", "KE") == Phone("254712345678")


@pytest.mark.parametrize("raw", ["", "anonymous", "12", "+91 98765\r\n43210x", "1234567890123456"])
def test_unusable_caller_ids(raw):
    assert Phone.from_caller_id(raw, "IN") is None
