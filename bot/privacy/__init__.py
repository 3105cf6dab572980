"""Personal data: where it lives, how long it stays, and one user's export and erasure.

    person = resolve_person(redis, "telegram:42")   # every linked identity (bot.fans)
    export_person(redis, person)                     # JSON of every store's entries (the right of access)
    erase(redis, person)                             # delete them everywhere (the right to erasure)
    apply_retention(redis, load_policy(policy_path(env)))  # privacy.yml's limits, applied once
    start_retention_thread(redis, policy_file=policy_path(env))  # ... and every few minutes in `bot run`

The stores are listed once, in `bot.privacy.inventory.FAMILIES`; docs/privacy.md explains the policy.
"""

from bot.privacy.erase import EraseReport, erase, erase_user, leftovers
from bot.privacy.export import export_person, export_user
from bot.privacy.inventory import FAMILIES, Entry, Family, Person, find_all, resolve_person
from bot.privacy.policy import RETENTION_CLASSES, RetentionPolicy, load_policy, parse_policy, policy_path
from bot.privacy.retention import SWEEPS, apply_retention, start_retention_thread, sweep_once

__all__ = [
    "FAMILIES",
    "RETENTION_CLASSES",
    "SWEEPS",
    "Entry",
    "EraseReport",
    "Family",
    "Person",
    "RetentionPolicy",
    "apply_retention",
    "erase",
    "erase_user",
    "export_person",
    "export_user",
    "find_all",
    "leftovers",
    "load_policy",
    "parse_policy",
    "policy_path",
    "resolve_person",
    "start_retention_thread",
    "sweep_once",
]
