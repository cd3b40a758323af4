from __future__ import annotations

from facade.http.middleware import client_ip, parse_networks

TRUSTED = parse_networks(["127.0.0.1", "10.0.0.0/8"])


def test_socket_peer_is_the_client_when_no_proxy_is_trusted():
    assert client_ip("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"


def test_forwarded_for_is_ignored_from_an_untrusted_peer():
    assert client_ip("203.0.113.9", "198.51.100.1", TRUSTED) == "203.0.113.9"


def test_forwarded_for_is_read_through_trusted_proxies_from_the_right():
    assert client_ip("127.0.0.1", "198.51.100.1", TRUSTED) == "198.51.100.1"
    # A client that sends its own X-Forwarded-For cannot choose its address.
    assert client_ip("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.1.1", TRUSTED) == "198.51.100.7"


def test_garbage_in_forwarded_for_falls_back_to_the_peer():
    assert client_ip("127.0.0.1", "not-an-ip", TRUSTED) == "127.0.0.1"
