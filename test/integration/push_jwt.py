"""JWT helpers shared by the push checkers (push_check.py, push_e2e_check.py): base64url,
ES256 (APNs provider tokens) and RS256 (the FCM OAuth assertion) verification. Needs
python3-cryptography (/usr/bin/python3)."""
import base64
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(tok):
    h, c, s = tok.split(".")
    return json.loads(b64d(h)), json.loads(b64d(c)), (h + "." + c).encode(), b64d(s)


def verify_es256(tok, pub):
    """(header, claims, ok): ok when the raw r||s signature verifies against pub."""
    hdr, claims, msg, sig = jwt_parts(tok)
    try:
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        pub.verify(der, msg, ec.ECDSA(hashes.SHA256()))
        return hdr, claims, len(sig) == 64
    except Exception:
        return hdr, claims, False


def verify_rs256(tok, pub):
    hdr, claims, msg, sig = jwt_parts(tok)
    try:
        pub.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
        return hdr, claims, True
    except Exception:
        return hdr, claims, False
