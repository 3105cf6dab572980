"""`bot orders ...`: the order backend from the terminal (stock levels, restock alerts, orders, repairs).

    bot orders stock                      # units per product and how many people wait for each
    bot orders stock phone_14_pro 50      # set the stock; back from 0 → every subscriber is told now
    bot orders notify                     # (re)send restock messages for everything in stock
    bot orders show M2026110501           # one order, with its owner
    bot orders repair R2611290042         # one repair pickup
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.errors import ConfigError
from bot.orders import ORDER_STATUSES


def _backend(args: argparse.Namespace) -> Any:
    """The order backend of the CLI run's context (`args.ctx`, built by the CLI main)."""
    return args.ctx.orders


def _product(text: str) -> str:
    from bot.orders.products import PRODUCTS, find_product

    key = text if text in PRODUCTS else find_product(text)
    if key not in PRODUCTS:
        raise ConfigError(f"product {text!r} is not one of ours; use one of {', '.join(PRODUCTS)}")
    return str(key)


def _notify(args: argparse.Namespace, products: Any = None) -> int:
    from redis import RedisError

    from bot.orders.restock import notify_restocked

    try:
        report = asyncio.run(notify_restocked(_backend(args), products, redis=args.ctx.redis, texts=args.ctx.texts,
                                             wait=10.0))
    except RedisError as exc:
        print(f"error: cannot reach Redis to send the restock messages ({exc}); the alerts are kept and the action "
              "server's periodic check sends them, or run `bot orders notify` again", file=sys.stderr)
        return 1
    if report.busy:
        print("another process kept the restock lock; the periodic check in the action server sends the messages")
        return 0
    print(f"restock messages: {len(report.sent)} sent (or queued for the user's next contact), "
          f"{len(report.failed)} failed")
    for who, error in report.failed.items():
        print(f"  failed {who}: {error} (kept; run `bot orders notify` to retry)", file=sys.stderr)
    return 1 if report.failed else 0


def _stock(args: argparse.Namespace) -> int:
    backend = _backend(args)
    if args.product is None:
        from bot.orders.products import PRODUCTS

        for key in PRODUCTS:
            waiting = len(backend.restock_alerts(key))
            print(f"{key}\t{backend.stock(key)}\t{waiting} waiting for a restock message")
        return 0
    product = _product(args.product)
    if args.quantity is None:
        print(f"{product}\t{backend.stock(product)}")
        return 0
    if args.quantity < 0:
        raise ConfigError(f"stock {args.quantity} for {product}: use 0 or more")
    before = backend.set_stock(product, args.quantity)
    print(f"{product}: {before} → {args.quantity}")
    if args.quantity > 0:
        return _notify(args, [product])
    return 0


def _show(args: argparse.Namespace) -> int:
    from bot.orders import normalise_order_number

    number = normalise_order_number(args.number)
    order = _backend(args).get(number) if number else None
    if order is None:
        raise ConfigError(f"order {args.number!r} is not in the order database")
    for name in ("number", "product", "status", "carrier", "tracking_no", "eta", "updated_at", "owner", "phone",
                 "address"):
        print(f"{name}\t{getattr(order, name)}")
    return 0


def _status(args: argparse.Namespace) -> int:
    """The shop's side of the demo: an order moved on (a `returned` one gets its check-in from `bot run`'s jobs)."""
    from bot.orders import normalise_order_number

    number = normalise_order_number(args.number)
    if number is None or _backend(args).get(number) is None:
        raise ConfigError(f"order {args.number!r} is not in the order database")
    order = _backend(args).set_status(number, args.status)
    print(f"{order.number}\t{order.status}\t{order.updated_at.isoformat(timespec='seconds')}")
    return 0


def _repair(args: argparse.Namespace) -> int:
    repair = _backend(args).get_repair(args.number)
    if repair is None:
        raise ConfigError(f"repair {args.number!r} is not in the order database")
    for name in ("number", "owner", "device", "fault", "address", "window", "status", "created_at"):
        print(f"{name}\t{getattr(repair, name)}")
    return 0


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("orders", help="orders, repairs, stock and restock alerts")
    osub = p.add_subparsers(dest="orders_command", metavar="WHAT")
    osub.required = True

    q = osub.add_parser("stock", help="show or set stock; from 0 to more tells everyone waiting")
    q.add_argument("product", nargs="?", help="product key (phone_14_pro) or name (\"14 Pro\")")
    q.add_argument("quantity", nargs="?", type=int, help="new number of units")
    q.set_defaults(func=_stock)

    q = osub.add_parser("notify", help="send restock messages for every product in stock")
    q.set_defaults(func=_notify)

    q = osub.add_parser("show", help="one order")
    q.add_argument("number")
    q.set_defaults(func=_show)

    q = osub.add_parser("status", help="the shop moved an order on (returned: its owner gets a check-in later)")
    q.add_argument("number")
    q.add_argument("status", choices=list(ORDER_STATUSES))
    q.set_defaults(func=_status)

    q = osub.add_parser("repair", help="one repair pickup")
    q.add_argument("number")
    q.set_defaults(func=_repair)
