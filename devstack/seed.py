"""Demo data for the local stack: categories, demo accounts and a few hundred providers
spread around Lisbon. Deterministic and idempotent (fixed ids, puts overwrite)."""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass

from chalicelib import ids
from chalicelib.auth import CUSTOMERS, OPERATORS, PROVIDERS
from chalicelib.store import keys, metrics
from chalicelib.store import profiles as repo
from chalicelib.store.models import Entity, ProviderItem, UserItem
from devstack.provision import ensure_user

log = logging.getLogger("devstack.seed")

CITY = ("Lisbon", 38.7223, -9.1393)
DEMO_PASSWORD = "Summon-demo-2026"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    groups: tuple[str, ...]
    name: str


DEMO_ACCOUNTS = (
    DemoAccount("customer@summon.local", (CUSTOMERS,), "Carla Customer"),
    DemoAccount("provider@summon.local", (PROVIDERS,), "Paulo Plumber"),
    DemoAccount("provider2@summon.local", (PROVIDERS,), "Rita Repairs"),
    DemoAccount("both@summon.local", (CUSTOMERS, PROVIDERS), "Bruno Both"),
    DemoAccount("operator@summon.local", (OPERATORS,), "Olga Operator"),
)

CATEGORIES = [
    {"id": "plumbing", "name": "Plumbing", "icon": "wrench"},
    {"id": "electrical", "name": "Electrical", "icon": "bolt"},
    {"id": "cleaning", "name": "Cleaning", "icon": "broom"},
    {"id": "moving", "name": "Moving", "icon": "truck"},
    {"id": "tutoring", "name": "Tutoring", "icon": "book"},
    {"id": "gardening", "name": "Gardening", "icon": "leaf"},
    {"id": "handyman", "name": "Handyman", "icon": "hammer"},
    {"id": "painting", "name": "Painting", "icon": "brush"},
]

FIRST = ["Ana", "João", "Marta", "Tiago", "Inês", "Rui", "Sofia", "Pedro", "Beatriz", "Nuno"]
LAST = ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins"]


def _provider_item(
    user_id: str,
    name: str,
    cats: list[str],
    lat: float,
    lng: float,
    rng: random.Random,
    online: bool,
) -> ProviderItem:
    count = rng.randint(0, 60)
    now = ids.iso()
    item = ProviderItem(
        keys.user(user_id),
        keys.PROVIDER,
        name=name,
        categories=cats,
        bio=f"{name}: {', '.join(cats)} around {CITY[0]}.",
        lat=round(lat, 6),
        lng=round(lng, 6),
        radius_km=float(rng.choice([5, 8, 10, 15, 20])),
        rate={"amount": f"{rng.randint(15, 80)}.00", "currency": "EUR", "unit": "hour"},
        online=1 if online else 0,
        rating_count=count,
        rating_sum=sum(rng.randint(3, 5) for _ in range(count)),
        offers_received=rng.randint(0, 100),
        version=1,
        created_at=now,
        updated_at=now,
    )
    item.offers_accepted = rng.randint(0, int(item.offers_received))
    if online:
        for attribute, value in keys.geo_index(lat, lng, user_id).items():
            setattr(item, attribute, value)
    return item


def demo_providers(count: int, seed: int = 7) -> list[tuple[UserItem, ProviderItem]]:
    """``count`` providers within ~20 km of the city centre; about 70 % online."""
    rng = random.Random(seed)
    out = []
    _, lat0, lng0 = CITY
    for i in range(count):
        user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"summon-demo-provider-{i}"))
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        lat = lat0 + rng.uniform(-0.18, 0.18)
        lng = lng0 + rng.uniform(-0.22, 0.22)
        cats = rng.sample([c["id"] for c in CATEGORIES], k=rng.randint(1, 3))
        now = ids.iso()
        user = UserItem(
            keys.user(user_id),
            keys.PROFILE,
            name=name,
            roles=[PROVIDERS],
            created_at=now,
            updated_at=now,
        )
        out.append(
            (user, _provider_item(user_id, name, cats, lat, lng, rng, online=rng.random() < 0.7))
        )
    return out


def seed(endpoint: str, region: str, pool_id: str, *, providers: int = 300) -> dict[str, str]:
    """Seed everything; returns ``{email: sub}`` of the demo accounts."""
    repo.put_categories(CATEGORIES)
    subs: dict[str, str] = {}
    for account in DEMO_ACCOUNTS:
        sub = ensure_user(
            endpoint, region, pool_id, account.email, DEMO_PASSWORD, list(account.groups)
        )
        subs[account.email] = sub
        repo.get_or_create_user(sub, account.email, sorted(account.groups))
        repo.update_user(sub, {"name": account.name})
    rng = random.Random(11)
    _, lat0, lng0 = CITY
    accounts: list[ProviderItem] = []
    for email in ("provider@summon.local", "provider2@summon.local", "both@summon.local"):
        sub = subs[email]
        item = _provider_item(
            sub,
            next(a.name for a in DEMO_ACCOUNTS if a.email == email),
            ["plumbing", "handyman"],
            lat0 + rng.uniform(-0.02, 0.02),
            lng0 + rng.uniform(-0.02, 0.02),
            rng,
            online=True,
        )
        item.radius_km = 20.0
        accounts.append(item)
    demo = demo_providers(providers)
    written = accounts + [provider for _, provider in demo]
    before = ProviderItem.batch_get([(i.pk, i.sk) for i in written])
    was = {i.pk: int(i.online or 0) for i in before}
    with Entity.batch_write() as batch:
        for item in accounts:
            batch.save(item)
        for user, provider in demo:
            batch.save(user)
            batch.save(provider)
    metrics.add_online(  # the operators' gauge, as set_availability keeps it
        {i.pk.removeprefix(keys.user("")): int(i.online) - was.get(i.pk, 0) for i in written}
    )
    seed_open_requests(subs["customer@summon.local"])
    log.info(
        "seeded %d categories, %d demo accounts, %d providers",
        len(CATEGORIES),
        len(DEMO_ACCOUNTS),
        providers,
    )
    return subs


def demo_subs(endpoint: str, region: str, pool_id: str) -> dict[str, str]:
    """``{email: sub}`` of the demo accounts there are (for ``.devstack/accounts.json``)."""
    from devstack.provision import _client

    idp = _client("cognito-idp", endpoint, region)
    subs: dict[str, str] = {}
    for account in DEMO_ACCOUNTS:
        try:
            user = idp.admin_get_user(UserPoolId=pool_id, Username=account.email)
        except idp.exceptions.UserNotFoundException:
            continue
        subs[account.email] = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    return subs


# --- open requests (the marketplace) -----------------------------------------------------

DEMO_REQUESTS = (
    ("instant", "plumbing", "The kitchen sink is leaking", 38.7107, -9.1366, "Rua Augusta 120"),
    ("instant", "electrical", "Lights keep tripping the breaker", 38.7200, -9.1500, None),
    ("quote", "painting", "Paint a two-bedroom flat, white walls", 38.7369, -9.1427, None),
    ("quote", "moving", "Move a sofa and a bed to the 3rd floor", 38.7077, -9.1365, None),
    ("quote", "cleaning", "Deep clean after a renovation", 38.7500, -9.1600, None),
)


def _demo_request_id(index: int) -> str:
    """A fixed, valid ULID per demo request (so seeding twice creates nothing new)."""
    import hashlib

    millis = 1_767_225_600_000 + index  # 2026-01-01T00:00:00Z
    tail = hashlib.sha256(f"summon-demo-request-{index}".encode()).digest()[:10]
    return ids.ulid(millis, tail)


def seed_open_requests(customer_id: str) -> int:
    """A few open requests from the demo customer around the city, matched and offered like
    any other (the demo providers see offers and invitations at once; the instant ones are
    re-dispatched and then expire on the timers, the quote ones stay open for a day).
    Returns how many were created (0 when they exist)."""
    from chalicelib import runtime
    from chalicelib.auth import CUSTOMERS, Principal
    from chalicelib.schemas.marketplace import RequestIn
    from chalicelib.services import notifications, requests
    from chalicelib.store import marketplace as market

    runtime.use(sinks=[("feed", notifications.record)])
    customer = Principal(
        user_id=customer_id, email="customer@summon.local", groups=frozenset({CUSTOMERS})
    )
    made = 0
    for index, (mode, category, text, lat, lng, address) in enumerate(DEMO_REQUESTS):
        request_id = _demo_request_id(index)
        if market.get_request(request_id) is not None:
            continue
        body = RequestIn.model_validate(
            {
                "category": category,
                "description": text,
                "location": {"lat": lat, "lng": lng, "address": address},
                "mode": mode,
            }
        )
        requests.create(customer, body, request_id=request_id)
        made += 1
    log.info("seeded %d open requests", made)
    return made
