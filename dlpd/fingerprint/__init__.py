"""Fingerprints of labelled content: text prints (winnowing) and table cells (keyed hashes).

Pure cores, standard library only: ``text`` (normalise, winnow), ``table`` (canonical
cells), ``match`` (what lookup counts mean: a copy, a derivative, or nothing). The index
they feed lives in ``dlpd.store.fingerprints``.
"""
