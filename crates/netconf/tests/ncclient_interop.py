"""ncclient (a NETCONF client we did not write) against tsn-netconf's server.

Usage: ncclient_interop.py HOST PORT USER KEYFILE HOSTKEY_B64 CONFIG_XML_FILE ENTRIES

Pins the server's host key, then: get-config, lock candidate, edit-config to the
candidate, validate, commit, get-config again and checks the gate-parameter-table;
finally checks that an invalid edit comes back as an rpc-error. Prints OK on success.
"""
import sys

from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError

host, port, user, key, hostkey_b64, config_file, entries = sys.argv[1:8]
NS = {
    "if": "urn:ietf:params:xml:ns:yang:ietf-interfaces",
    "sb": "urn:ieee:std:802.1Q:yang:ieee802-dot1q-sched-bridge",
}

with open(config_file) as f:
    config = f.read()

with manager.connect(
    host=host,
    port=int(port),
    username=user,
    key_filename=key,
    hostkey_verify=True,
    hostkey_b64=hostkey_b64,
    allow_agent=False,
    look_for_keys=False,
    timeout=30,
) as m:
    assert ":candidate" in m.server_capabilities, list(m.server_capabilities)
    assert any("ieee802-dot1q-sched-bridge" in c for c in m.server_capabilities)
    before = m.get_config(source="running").data_ele
    assert not before.xpath("//sb:gate-parameter-table", namespaces=NS), etree.tostring(before)
    with m.locked("candidate"):
        m.edit_config(target="candidate", config="<config xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">" + config + "</config>")
        m.validate(source="candidate")
        m.commit()
    after = m.get_config(source="running", filter=("subtree", "<interfaces xmlns=\"%s\"/>" % NS["if"])).data_ele
    got = after.xpath("//sb:gate-parameter-table/sb:admin-control-list/sb:gate-control-entry", namespaces=NS)
    assert len(got) == int(entries), etree.tostring(after)
    bad = (
        "<config xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><interfaces xmlns=\"%s\">"
        "<interface><name>x</name><enabled>maybe</enabled></interface></interfaces></config>" % NS["if"]
    )
    m.edit_config(target="candidate", config=bad)
    try:
        m.validate(source="candidate")
        raise SystemExit("an invalid candidate validated")
    except RPCError as e:
        assert e.tag == "invalid-value", e.tag
    m.discard_changes()
print("OK")
