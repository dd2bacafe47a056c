"""Chaos runs: a live workload under crashes and network faults, then the checker.

scenarios  what one run breaks: a crash point, or one fault kind on one hop
workload   the merchant's side: charges, auth+capture, refunds, retried on lost answers
harness    a stack with a fault proxy on every hop, one run at a time, and its verdict
"""
