"""Synthetic social-media posts planted on `tamis.synth`'s importers, in the shapes of the
exports analysts bring (Zeeschuimer NDJSON, TikTok research API pages, a Facebook CSV),
with the posts' images, photos of seized goods and a ground truth no reader looks at.

Counterfeit sellers advertise copies of the brands their importer brought in, with the
importer's phone (tax returns) and pictures of its seized goods, cropped and re-encoded;
hard negatives look like them without being them. Text is disguised with
`tamis.social.perturb` and no reader is imported (the brand spellings of
`tamis.social.brands` are read as data only), so a benchmark built on these posts does
not share the readers' blind spots.

``truth.jsonl`` has one line per post: ``post_id`` ("<platform>:<native id>"), ``file``,
``script``, ``perturbation``, ``brands`` (canonical), ``obfuscation`` (per brand),
``copy_ad``, ``phones`` (E.164 written in the post), ``prices_mad``, ``place``,
``seller``, ``account``, ``importer`` (or null), ``negative`` (one of `NEGATIVES` or
null), ``image``, ``photo`` (the photo it was made from) and ``image_edits``; then one
line per photo: ``photo``, ``importer``, ``kind`` ("seized" or "catalogue") and
``importers`` (every importer whose files hold it). Posts of ``broken.ndjson`` have none.
"""

from __future__ import annotations

import csv
import json
import random
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
from PIL import Image, ImageDraw

from tamis.social import perturb
from tamis.social.brands import DEFAULT_ALIASES
from tamis.synth import Synthetic
from tamis.synth.reference import (
    AUTHORISED_DISTRIBUTORS,
    BRAND_PREMIUM,
    EXCHANGE_RATES,
    IMPORTER_WORDS,
    LINES,
)

SCRIPTS = ("latin_fr", "arabic", "arabizi")
PERTURBATIONS = ("none", "styled", "zero_width", "homoglyphs", "leet", "spaced", "arabic_digits")
NEGATIVES = (
    "authorised_reseller",  # the importer itself, selling the genuine brand
    "shared_phone",  # a phone many importers declare (the ring's): links to none of them
    "common_name",  # a display name made of words many importer names contain
    "catalogue_photo",  # a supplier's photo that honest importers' files hold too
    "no_importer",  # a seller no importer stands behind
    "ambiguous_word",  # "apple" the fruit, "puma" the animal, "1:1" a ratio
    "no_phone",  # a counterfeit seller's post linked only by its images or its account
)
# Share of posts by what their sellers are.
KINDS = {
    "counterfeit": 0.56,
    "authorised_reseller": 0.10,
    "shared_phone": 0.06,
    "common_name": 0.07,
    "catalogue_photo": 0.06,
    "no_importer": 0.10,
    "ambiguous_word": 0.05,
}
PLATFORMS = {"tiktok": 0.55, "instagram": 0.30, "facebook": 0.15}  # shares of posts
ROAMING = 0.5  # share of sellers who post now and then from other platforms than their own
ROAM = 0.25  # how often they do
RESEARCH_SHARE = 0.25 / 0.55  # of TikTok posts, those that come by the research API
NO_PHONE = 0.08
REPOST = 0.12  # a seller posting the same text again, from another account
RETAIL_MARKUP = 2.5  # shop price over the price at origin
RETAIL_PIECE = {"KG": 0.25, "L": 0.1}  # kg or litres of one piece sold retail
PHOTO_SIZE = (480, 360)
RESEARCH_PAGE = 100
SHORTCODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
FACEBOOK_COLUMNS = (
    "id",
    "creation_time",
    "text",
    "post_owner.name",
    "post_owner.username",
    "post_owner.id",
    "link_attachment.link",
    "multimedia",
    "reactions",
)

# The brand's letters are disguised (homoglyphs, leet, spaced) or the whole text is.
_ON_BRAND = {"homoglyphs": perturb.homoglyphs, "leet": perturb.leet, "spaced": perturb.spaced}
_ON_TEXT = {
    "styled": perturb.styled,
    "zero_width": perturb.zero_width,
    "arabic_digits": perturb.arabic_digits,
}
_LATIN_ONLY = {"styled", "homoglyphs", "leet"}  # they leave Arabic letters as they are

# Spellings the readers' table lacks, in Latin and Arabic letters: only data, on purpose.
_MORE_SPELLINGS = {
    "Levi's": ["levis", "ليفايس", "ليفيس"],
    "Xiaomi": ["shaomi", "شاومي"],
    "Lenovo": ["لينوفو"],
    "Sony": ["سوني"],
    "Nintendo": ["نينتندو"],
    "Bosch": ["بوش"],
    "Philips": ["فيليبس"],
    "Michelin": ["ميشلان"],
    "Sanofi": ["سانوفي"],
    "Pfizer": ["فايزر"],
    "L'Oreal": ["loreal", "l'oréal", "لوريال"],
    "Nivea": ["نيفيا"],
    "Nescafe": ["nescafé", "نسكافيه"],
    "Lego": ["ليغو"],
    "Mattel": ["ماتيل"],
    "Casio": ["كاسيو"],
    "Ray-Ban": ["rayban", "ray ban", "ريبان", "راي بان"],
}

# Goods by the first four digits of their tariff line: French, Arabic, Arabizi words.
_SHOES = (
    ("chaussures", "baskets", "sneakers", "espadrilles"),
    ("صباط", "سبرديلة", "صبابط"),
    ("sbabet", "sbrdila", "sbat"),
)
_TROUSERS = (("jean", "pantalon", "short"), ("سروال", "جينز"), ("serwal", "jean", "srawel"))
PRODUCTS = {
    "6402": _SHOES,
    "6403": _SHOES,
    "6404": _SHOES,
    "6203": _TROUSERS,
    "6204": _TROUSERS,
    "6109": (("t-shirt", "maillot", "polo"), ("تيشورت", "مايو", "بولو"), ("tshirt", "maillot")),
    "6110": (("pull", "sweat", "gilet"), ("تريكو", "بول"), ("triko", "pull")),
    "8517": (("téléphone", "smartphone"), ("تليفون", "بورطابل"), ("tilifon", "portable")),
    "8471": (("ordinateur portable", "PC portable"), ("حاسوب", "بيسي"), ("pc", "laptop")),
    "8528": (("télévision", "écran plat"), ("تلفازة", "تلفزيون"), ("tlfaza", "tv")),
    "8418": (("réfrigérateur", "frigo"), ("ثلاجة", "فريجيدير"), ("tlaja", "frigo")),
    "8450": (("machine à laver", "lave-linge"), ("ماكينة الصابون", "غسالة"), ("machina",)),
    "8509": (("robot de cuisine", "mixeur"), ("خلاط", "روبو"), ("robo", "mixeur")),
    "8708": (("pièces auto", "freins"), ("قطع الغيار", "فرانات"), ("pièces", "franat")),
    "4011": (("pneus", "pneumatiques"), ("بنوات", "عجلات"), ("pnowat", "pneu")),
    "3004": (("médicaments", "comprimés"), ("دوا", "حبوب"), ("dwa", "7boub")),
    "3304": (("crème", "sérum visage"), ("كريمة", "سيروم"), ("krima", "serum")),
    "3305": (("shampooing",), ("شامبوان", "شامبو"), ("chompoin", "shampoing")),
    "3303": (("parfum", "eau de parfum"), ("عطر", "ريحة"), ("l3tr", "ri7a", "parfum")),
    "2101": (("café soluble", "café"), ("قهوة", "نيسكافي"), ("9hwa", "kahwa")),
    "9503": (("jouets", "jeux de construction"), ("لعب", "لعيبات"), ("l3ab", "l3ibat")),
    "9504": (("console", "manette"), ("كونسول", "مانيط"), ("console", "manette")),
    "9506": (("ballon", "ballons de foot"), ("كورة", "كرة"), ("kora", "ballon")),
    "9405": (("lampes LED", "lustre"), ("بولات", "ثريا"), ("bolat", "lampa")),
    "4202": (("sac", "sac à main", "sacoche"), ("صاك", "شكارة", "ساك"), ("sak", "chkara")),
    "9102": (("montre", "montres"), ("مكانة", "ساعة"), ("magana", "montre")),
    "9004": (("lunettes", "lunettes de soleil"), ("نظارات", "ندادر"), ("ndader", "lunettes")),
}  # fmt: skip
_ANY_GOODS = (("articles",), ("سلعة",), ("sel3a",))
# Lines the sellers who are nobody's importer copy: what the street sells most.
STREET_LINES = ("6402", "6403", "6404", "6109", "6110", "6203", "6204", "4202", "9102", "9004")

COPY_PHRASES = (
    ("High copy", "haute copie", "réplique", "Réplique 1:1", "1:1", "AAA", "AAA+", "miroir",
     "qualité miroir", "copie conforme", "first copy", "master copy", "Top copie"),
    ("هاي كوبي", "كوبي", "كوبي وان", "طبق الأصل", "تقليد", "ميروار", "نسخة طبق الأصل"),
    ("high copy", "hi copy", "copie", "1:1", "AAA", "miroir", "kopi", "copy mirror", "ta9lid"),
)  # fmt: skip
# Canonical place, then as each script writes it.
PLACES = (
    ("Derb Ghallef", "Derb Ghallef", "درب غلف", "Derb Ghlef"),
    ("Casablanca", "Casablanca", "الدار البيضاء", "Casa"),
    ("Mohammédia", "Mohammédia", "المحمدية", "Mohammedia"),
    ("Temara", "Temara", "تمارة", "Tmara"),
    ("Agadir", "Agadir", "أكادير", "Agadir"),
    ("El Jadida", "El Jadida", "الجديدة", "El Jadida"),
)
CONTACTS = (
    ("📞 {}", "WhatsApp : {}", "Commandez au {}", "Infos et commandes {}"),
    ("للطلب واتساب {}", "📞 {}", "اتصل ب {}"),
    ("3ayet 3la {}", "whatsapp {}", "tel {}"),
)
NO_CONTACT = (
    ("Commandez en DM 📩", "Infos en privé"),
    ("راسلونا في الخاص 📩",),
    ("dm f privé 📩",),
)
TAGS = (
    ("#maroc", "#style", "#mode", "#sneakers", "#promo", "#livraison", "#fashion"),
    ("#المغرب", "#جديد", "#موضة", "#تخفيضات"),
    ("#maroc", "#jdid", "#lmoda", "#l3id", "#promo"),
)
COPY_ADS = (
    (
        "🔥 {brand} {product} {copy} 🔥\n👉 {price}\n{contact}\n📍 {place}\n{tags}",
        "Arrivage Tanger Med : {product} {brand} qualité {copy}, {price} seulement. "
        "Livraison partout au Maroc. {contact} — {place} {tags}",
        "{copy} {brand} ✅ {product} toutes tailles à {price}. {contact}, magasin {place}. {tags}",
    ),
    (
        "{product} {brand} {copy} 🔥\n{price}\n{contact}\n📍 {place}\nالتوصيل لجميع المدن {tags}",
        "وصلات سلعة جديدة من طنجة المتوسط: {product} {brand} {copy} غير ب {price} "
        "{contact} {place}",
        "{copy} ✅ {brand} {product} متوفر بجميع المقاسات، {price}، {contact}، {place} {tags}",
    ),
    (
        "{product} {brand} {copy} kaynin 🔥 {price} {contact} 📍 {place} twsil l ga3 lmdon {tags}",
        "wslat sel3a jdida mn Tanger Med: {product} {brand} {copy} ghir b {price} "
        "{contact} {place}",
        "{copy} {brand} {product} 9ad w mzyan, {price}, {contact}, {place} {tags}",
    ),
)
GENUINE_ADS = (
    (
        "Nouvelle collection {brand} : {product} disponibles en magasin, {price}. "
        "Distributeur agréé. {contact} — {place} {tags}",
        "{brand} officiel ✅ {product} neufs sous garantie à {price}. {contact}, {place}",
    ),
    ("{product} {brand} الأصلية متوفرة في المحل ب {price}، موزع معتمد. {contact} {place}",),
    ("{product} {brand} original b garantie kaynin f lmagasin, {price}. {contact} {place}",),
)
AMBIGUOUS = (
    (
        "Jus frais apple-carotte 🍏 {price} le litre. {contact} {place}",
        "Documentaire : le puma, grand félin des Amériques, chasse seul la nuit.",
        "Astuce chantier : mélangez ciment et sable au ratio 1:1 pour l'enduit.",
        "Lot de 4 piles AAA rechargeables, {price}. {contact}",
        "Score à la mi-temps : 1:1 au stade de {place} !",
    ),
    (
        "عصير apple و الجزر طري 🍏 {price} {contact}",
        "البوما حيوان مفترس كيعيش في أمريكا",
        "خلط الاسمنت و الرمل بنسبة 1:1",
        "بطاريات AAA قابلة للشحن ب {price} {contact}",
    ),
    (
        "3ssir apple w khizzo fresh 🍏 {price} {contact}",
        "puma hayawan khatir kay3ich f amérique",
        "khallet siman w rmel 1:1 bach ykoun zwin",
        "batriyat AAA rechargeable b {price} {contact}",
        "match f {place} sala 1:1",
    ),
)
VOICES = (
    "",
    "",
    "Salam, sel3a jdida wslat, 3ayto lina",
    "Nouveautés disponibles, livraison partout",
)
COMMENTS = ("prix ?", "bch7al", "شحال الثمن؟", "dispo f Rabat?", "wach kayn livraison l Fes?",
            "Arnaque ❌", "🔥🔥", "mzyan", "Taille 42 dispo ?")  # fmt: skip
SLOGANS = ("Qualité garantie 💯", "Best quality 👌", "Livraison 24h 🚚", "Prix de gros 📦",
           "الجودة مضمونة", "Paiement à la livraison")  # fmt: skip
SHOP_WORDS = ("Sneakers", "Brand", "Luxe", "Style", "Fashion", "Shoes", "Mode", "Dressing",
              "Swag", "Hanout", "Street", "Outlet")  # fmt: skip
# No place in names nor hashtags: a post names one place, where its goods are.
SHOP_TAILS = ("Shop", "Store", "Officiel", "Deals", "Corner", "Ma", "Premium", "Club")
OTHER_SELLERS = (
    "Recettes de Nadia",
    "Bricolage Pro",
    "Nature et Animaux",
    "Foot Live",
    "Piles Plus",
)
HANDLE_ENDINGS = ("", "_", ".officiel", "2", "_ma", ".store")
COMMON_SUFFIXES = ("Shop", "Store", "Trading", "Distribution", "Boutique", "Commerce")


@dataclass(frozen=True)
class PostFiles:
    zeeschuimer: Path  # NDJSON, TikTok and Instagram items as Zeeschuimer/4CAT export them
    tiktok_research: Path  # JSON, TikTok research API video query pages
    facebook: Path  # CSV, a Facebook page export (Meta Content Library columns)
    images: Path  # folder of post images (PNG/JPEG) named in the posts
    photos: Path  # photos of goods seized or inspected, named <importer id>_<n>.jpg
    truth: Path  # JSON Lines ground truth, never read by Tamis' readers
    broken: Path  # NDJSON of records a reader must survive


def write_posts(synthetic: Synthetic, out: Path, seed: int, posts: int = 3000) -> PostFiles:
    """Posts planted on `synthetic`'s importers, written under ``out``; same seed, same
    bytes. About 60 % of posts go to the Zeeschuimer file, 25 % to the TikTok research
    file and 15 % to the Facebook CSV."""
    out = Path(out)
    files = PostFiles(
        zeeschuimer=out / "zeeschuimer.ndjson",
        tiktok_research=out / "tiktok_research.json",
        facebook=out / "facebook.csv",
        images=out / "images",
        photos=out / "photos",
        truth=out / "truth.jsonl",
        broken=out / "broken.ndjson",
    )
    files.images.mkdir(parents=True, exist_ok=True)
    files.photos.mkdir(parents=True, exist_ok=True)
    maker = _Maker(synthetic, seed, files.images, files.photos)
    maker.make_sellers()
    made = sorted(
        (maker.post(seller) for seller in maker.plan(posts)),
        key=lambda post: (post.created, post.truth["post_id"]),
    )
    rng = maker.rng
    by_file = defaultdict(list)
    for post in made:
        by_file[post.file].append(post)
    _write_lines(files.zeeschuimer, [_zeeschuimer(post, rng) for post in by_file["zeeschuimer"]])
    pages = _research_pages(by_file["tiktok_research"], rng)
    files.tiktok_research.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    with files.facebook.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(FACEBOOK_COLUMNS)
        writer.writerows(_facebook_row(post, rng) for post in by_file["facebook"])
    _write_lines(files.truth, [post.truth for post in made] + maker.photo_truth)
    _write_lines(files.broken, _broken(maker), raw=True)
    return files


@dataclass(frozen=True)
class _Account:
    platform: str
    handle: str
    name: str
    user_id: str


@dataclass(frozen=True)
class _Picture:
    name: str  # file in images/
    photo: str | None  # the photo in photos/ it was made from
    edits: dict
    width: int
    height: int


@dataclass
class _Seller:
    id: str
    kind: str
    importer: str | None
    phones: list[str]  # E.164; the first is the one it writes most
    goods: list[tuple[str, str]]  # (brand, hs_code)
    sources: list[tuple[int, str | None]]  # its pictures: seed, and photo file if any
    name: str
    handle: str  # its accounts' handles are this with an ending
    scripts: list[float]  # weights of SCRIPTS
    motto: str  # the line all its posts end with
    home: str = "tiktok"  # the platform it posts on, mostly
    roams: bool = False
    accounts: dict[str, _Account] = field(default_factory=dict)  # by platform
    pool: list[_Picture] = field(default_factory=list)
    last: tuple[str, list[str], dict] | None = None  # to post the same again


@dataclass
class _Post:
    account: _Account
    file: str
    native_id: str
    created: int  # epoch seconds
    text: str
    tags: list[str]
    picture: _Picture | None
    comments: list[tuple[str, str]]
    link: str
    truth: dict


class _Maker:
    """The population of sellers and the posts they write, from one seeded rng."""

    def __init__(self, synthetic: Synthetic, seed: int, images: Path, photos: Path):
        self.rng = random.Random(seed)
        self.seed = seed
        self.images, self.photos = images, photos
        self.used: set[str] = set()
        items = synthetic.items
        self.start = int(items["lodged_at"].min().replace(tzinfo=UTC).timestamp())
        self.end = int(items["lodged_at"].max().replace(tzinfo=UTC).timestamp())
        numbers = synthetic.tax_returns.select("company_entity", "phone").unique()
        holders = defaultdict(list)
        for entity, phone in numbers.sort("phone", "company_entity").iter_rows():
            holders[_e164(phone)].append(entity)
        self.phone_of = {ents[0]: phone for phone, ents in holders.items() if len(ents) == 1}
        self.shared = sorted(phone for phone, ents in holders.items() if len(ents) > 1)
        self.counterfeits = _counterfeit_goods(items)
        fraud = items.group_by("importer_id").agg(pl.col("fraud").any())
        authorised = {i for ids in AUTHORISED_DISTRIBUTORS.values() for i in ids}
        honest = fraud.filter(~pl.col("fraud"))["importer_id"]
        self.honest = sorted(set(honest) - authorised)
        self.importer_names = sorted(set(items["importer_name"]))
        self.photo_truth: list[dict] = []
        self.sellers: list[_Seller] = []

    # --- unique names -----------------------------------------------------------------

    def unique(self, make) -> str:
        while (value := make()) in self.used:
            pass
        self.used.add(value)
        return value

    def digits(self, first: str, n: int) -> str:
        return self.unique(lambda: first + "".join(self.rng.choices("0123456789", k=n)))

    def file_name(self, suffix: str) -> str:
        return self.unique(lambda: f"{self.rng.getrandbits(64):016x}{suffix}")

    def mobile(self) -> str:
        """A Moroccan mobile no importer declares (their tax phones are 05)."""
        while True:
            e164 = self.digits("+212" + self.rng.choice("67"), 8)
            if phonenumbers.is_valid_number(phonenumbers.parse(e164)):
                return e164

    # --- pictures ---------------------------------------------------------------------

    def picture(self, seed: int) -> Image.Image:
        """A textured picture with shapes, unlike any other: a stand-in for a photo.
        Pictures are kept as seeds and drawn again when needed, not held in memory."""
        pixels = np.random.default_rng([self.seed, seed])
        width, height = PHOTO_SIZE
        grid = pixels.integers(0, 256, (3, 4, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(grid).resize(PHOTO_SIZE, Image.BILINEAR), np.int16)
        grain = pixels.integers(-16, 17, (height, width, 3), dtype=np.int16)
        image = Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(int(pixels.integers(5, 10))):
            colour = tuple(int(c) for c in pixels.integers(0, 256, 3))
            x, y, w, h = (int(v) for v in pixels.integers(0, (width, height, 200, 200)))
            box = (x, y, x + w + 30, y + h + 30)
            match int(pixels.integers(3)):
                case 0:
                    draw.ellipse(box, fill=colour, outline=(0, 0, 0), width=3)
                case 1:
                    draw.rectangle(box, fill=colour)
                case _:
                    corners = pixels.integers(0, (width, height), (5, 2)).tolist()
                    draw.polygon([tuple(c) for c in corners], fill=colour)
        return image

    def save_photo(self, seed: int, importer: str, kind: str, importers: list[str]) -> str:
        number = 1 + sum(line["importer"] == importer for line in self.photo_truth)
        name = f"{importer}_{number}.jpg"
        self.picture(seed).save(self.photos / name, "JPEG", quality=90)
        line = {"photo": name, "importer": importer, "kind": kind, "importers": importers}
        self.photo_truth.append(line)
        return name

    def post_picture(self, seller: _Seller) -> _Picture:
        """One of the few pictures the seller posts again and again."""
        if not seller.pool:
            drawn = {seed: self.picture(seed) for seed, _ in seller.sources}
            for _ in range(self.rng.randint(2, 4)):
                seed, photo = self.rng.choice(seller.sources)
                seller.pool.append(self.edited(drawn[seed], photo))
        return self.rng.choice(seller.pool)

    def edited(self, image: Image.Image, photo: str | None) -> _Picture:
        """The picture as a post shows it: cropped 5-10 %, resized, maybe mirrored,
        re-encoded as JPEG (a seller's own pictures sometimes kept as PNG)."""
        rng = self.rng
        crop = rng.uniform(0.05, 0.10)
        width, height = image.size
        left, top = rng.uniform(0, crop) * width, rng.uniform(0, crop) * height
        right, bottom = left + (1 - crop) * width, top + (1 - crop) * height
        image = image.crop((round(left), round(top), round(right), round(bottom)))
        scale = rng.uniform(0.5, 0.9)
        image = image.resize(
            (round(image.width * scale), round(image.height * scale)), Image.BILINEAR
        )
        mirror = rng.random() < 0.5
        if mirror:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        edits = {"crop": round(crop, 3), "scale": round(scale, 3), "mirror": mirror}
        if photo is None and rng.random() < 0.3:
            name = self.file_name(".png")
            image.save(self.images / name, "PNG", compress_level=1)
        else:
            edits["quality"] = rng.randint(40, 70)
            name = self.file_name(".jpg")
            image.save(self.images / name, "JPEG", quality=edits["quality"])
        return _Picture(name, photo, edits, image.width, image.height)

    # --- sellers ----------------------------------------------------------------------

    def seller(self, kind, importer=None, phones=(), goods=(), sources=(), name=None) -> _Seller:
        rng = self.rng
        name = name or f"{rng.choice(SHOP_WORDS)} {rng.choice(SHOP_TAILS)}"
        favourite = rng.randrange(len(SCRIPTS))
        seller = _Seller(
            id=f"SEL{len(self.sellers) + 1:05d}",
            kind=kind,
            importer=importer,
            phones=list(phones),
            goods=list(goods) or [self.street_goods()],
            sources=list(sources)
            or [(rng.getrandbits(32), None) for _ in range(rng.randint(1, 2))],
            name=name,
            handle=re.sub(r"[^a-z0-9]+", rng.choice("._"), name.lower()),
            scripts=[0.6 if i == favourite else 0.2 for i in range(len(SCRIPTS))],
            motto=f"{name} · {rng.choice(SLOGANS)}",
        )
        self.sellers.append(seller)
        return seller

    def street_goods(self) -> tuple[str, str]:
        lines = [ln for ln in LINES if ln.brands and ln.hs_code[:4] in STREET_LINES]
        line = self.rng.choice(lines)
        return self.rng.choice(line.brands), line.hs_code

    def make_sellers(self) -> None:
        rng = self.rng
        for importer, goods in self.counterfeits.items():
            seeds = [rng.getrandbits(32) for _ in range(rng.randint(1, 3))]
            seized = [(s, self.save_photo(s, importer, "seized", [importer])) for s in seeds]
            phone = self.phone_of.get(importer)
            for _ in range(rng.randint(1, 3)):
                phones = [phone] if phone else []
                if rng.random() < 0.3:
                    phones.append(self.mobile())  # the seller's own mobile beside the importer's
                self.seller("counterfeit", importer, phones, goods, seized)
        n = len(self.sellers)
        resold = defaultdict(list)
        for brand, importers in AUTHORISED_DISTRIBUTORS.items():
            for importer in importers:
                if importer in self.phone_of and importer not in self.counterfeits:
                    resold[importer] += [(brand, ln.hs_code) for ln in LINES if brand in ln.brands]
        for importer in rng.sample(sorted(resold), min(len(resold), max(3, n // 3))):
            phones = [self.phone_of[importer]]
            name = f"{resold[importer][0][0]} {rng.choice(SHOP_TAILS)}"
            self.seller("authorised_reseller", importer, phones, resold[importer], name=name)
        for k in range(min(4, 2 * len(self.shared))):
            self.seller("shared_phone", phones=[self.shared[k % len(self.shared)]])
        words = self.common_words()
        for word in rng.sample(words, min(len(words), max(4, n // 6))):
            name = f"{word} {rng.choice(COMMON_SUFFIXES)}"
            self.seller("common_name", phones=[self.mobile()], name=name)
        catalogue = self.catalogue()
        for _ in range(max(3, n // 8) if catalogue else 0):
            self.seller("catalogue_photo", phones=[self.mobile()], sources=[rng.choice(catalogue)])
        for _ in range(max(6, n // 4)):
            self.seller("no_importer", phones=[self.mobile()])
        for _ in range(max(4, n // 8)):
            self.seller("ambiguous_word", phones=[self.mobile()], name=rng.choice(OTHER_SELLERS))

    def common_words(self) -> list[str]:
        """Words of importer names that at least three importers' names contain."""
        counts = Counter(
            word
            for name in self.importer_names
            for word in (*IMPORTER_WORDS[0], *IMPORTER_WORDS[1])
            if f" {word} " in f" {name} "
        )
        return sorted(word.title() for word, count in counts.items() if count >= 3)

    def catalogue(self) -> list[tuple[int, str]]:
        """3-5 supplier catalogue photos, each in the files of 2-5 honest importers."""
        if len(self.honest) < 2:
            return []
        shown = []
        for _ in range(self.rng.randint(3, 5)):
            seed = self.rng.getrandbits(32)
            k = min(len(self.honest), self.rng.randint(2, 5))
            importers = sorted(self.rng.sample(self.honest, k))
            names = [self.save_photo(seed, i, "catalogue", importers) for i in importers]
            shown.append((seed, names[0]))
        return shown

    # --- posts ------------------------------------------------------------------------

    def plan(self, posts: int) -> list[_Seller]:
        """Who writes each post: each kind of seller its share of posts, each seller at
        least one while the share lasts, the busier ones more."""
        by_kind = defaultdict(list)
        for seller in self.sellers:
            by_kind[seller.kind].append(seller)
        shares = {kind: share for kind, share in KINDS.items() if by_kind[kind]}
        plan = []
        for kind, share in shares.items():
            quota = max(1, round(posts * share / sum(shares.values())))
            sellers = by_kind[kind]
            activity = [self.rng.lognormvariate(0, 1) for _ in sellers]
            first = self.rng.sample(sellers, min(quota, len(sellers)))
            plan += first + self.rng.choices(sellers, activity, k=quota - len(first))
        self.rng.shuffle(plan)
        plan = plan[:posts]
        self.settle(plan)
        return plan

    def settle(self, plan: list[_Seller]) -> None:
        """Each seller's own platform, so that posts split by the platforms' shares: the
        busiest sellers first, each to the platform furthest below its share."""
        written = Counter(seller.id for seller in plan)
        left = {platform: share * len(plan) for platform, share in PLATFORMS.items()}
        for seller in sorted(self.sellers, key=lambda s: -written[s.id]):
            seller.home = max(left, key=left.__getitem__)
            seller.roams = self.rng.random() < ROAMING
            left[seller.home] -= written[seller.id]

    def post(self, seller: _Seller) -> _Post:
        rng = self.rng
        platform = seller.home
        if seller.roams and rng.random() < ROAM:
            platform = rng.choices(list(PLATFORMS), list(PLATFORMS.values()))[0]
        account = self.account(seller, platform)
        file = {"instagram": "zeeschuimer", "facebook": "facebook"}.get(platform)
        if file is None:
            file = "tiktok_research" if rng.random() < RESEARCH_SHARE else "zeeschuimer"
        if seller.last is None or rng.random() >= REPOST:
            seller.last = self.text(seller)
        text, tags, truth = seller.last
        picture = None
        if file == "zeeschuimer" or (file == "facebook" and rng.random() < 0.7):
            picture = self.post_picture(seller)
        link = ""
        if file == "facebook" and truth["phones"] and rng.random() < 0.3:
            link = "https://wa.me/" + truth["phones"][0].removeprefix("+")
        native = {
            "tiktok": lambda: self.digits("7", 18),
            "instagram": lambda: f"{self.digits('3', 18)}_{account.user_id}",
            "facebook": lambda: self.digits("1", 15),
        }[account.platform]()
        return _Post(
            account=account,
            file=file,
            native_id=native,
            created=rng.randint(self.start, self.end),
            text=text,
            tags=tags,
            picture=picture,
            comments=self.comments() if file == "zeeschuimer" else [],
            link=link,
            truth={
                "post_id": f"{account.platform}:{native}",
                "file": file,
                **truth,
                "seller": seller.id,
                "account": account.handle,
                "image": picture and picture.name,
                "photo": picture and picture.photo,
                "image_edits": picture and picture.edits,
            },
        )

    def account(self, seller: _Seller, platform: str) -> _Account:
        """The seller's account on the platform, opened at its first post there."""
        if platform not in seller.accounts:
            free = [seller.handle + e for e in HANDLE_ENDINGS if seller.handle + e not in self.used]
            handle = self.rng.choice(free) if free else self.digits(seller.handle, 4)
            self.used.add(handle)
            user_id = self.digits(self.rng.choice("17"), 14)
            seller.accounts[platform] = _Account(platform, handle, seller.name, user_id)
        return seller.accounts[platform]

    def text(self, seller: _Seller) -> tuple[str, list[str], dict]:
        """A post's text, its hashtags and its truth."""
        rng = self.rng
        script = rng.choices(range(len(SCRIPTS)), seller.scripts)[0]
        if seller.kind == "ambiguous_word":
            perturbation = rng.choice(("none", "none", *_ON_TEXT))
            copy, goods = False, []
            template = rng.choice(AMBIGUOUS[script])
        else:
            perturbation = rng.choice(("none", *PERTURBATIONS))
            copy = seller.kind != "authorised_reseller"
            goods = rng.sample(seller.goods, min(len(seller.goods), rng.choice((1, 1, 1, 2))))
            template = rng.choice((COPY_ADS if copy else GENUINE_ADS)[script])
        phones = []
        if seller.phones and "{contact}" in template:
            if seller.kind != "counterfeit" or rng.random() >= NO_PHONE:
                phones = seller.phones if rng.random() < 0.3 else seller.phones[:1]
        spelt = [self.brand(brand, script, perturbation) for brand, _ in goods]
        if perturbation in _ON_BRAND:
            disguised = [_disguised(_ON_BRAND[perturbation], s, rng) for s, _ in spelt]
            if disguised == [s for s, _ in spelt]:
                perturbation = "none"
            spelt = [(d, how) for d, (_, how) in zip(disguised, spelt, strict=True)]
        hs_code = goods[0][1] if goods else ""
        price = self.price(*goods[0], copy) if goods else rng.randint(2, 9) * 10
        place = rng.choice(PLACES)
        tags = rng.sample(TAGS[script], 3) if "{tags}" in template else []
        if phones:
            written = " / ".join(perturb.phone_spellings(p, rng) for p in phones)
            contact = rng.choice(CONTACTS[script]).format(written)
        else:
            contact = rng.choice(NO_CONTACT[script])
        text = template.format(
            brand=" / ".join(s for s, _ in spelt),
            product=rng.choice(PRODUCTS.get(hs_code[:4], _ANY_GOODS)[script]),
            copy=rng.choice(COPY_PHRASES[script]),
            price=perturb.price_spellings(price, rng),
            contact=contact,
            place=place[script + 1],
            tags=" ".join(tags),
        )
        text = f"{text}\n{seller.motto}"
        if perturbation in _ON_TEXT:
            disguised = _disguised(_ON_TEXT[perturbation], text, rng)
            perturbation = "none" if disguised == text else perturbation
            text = disguised
        if seller.kind == "counterfeit":
            negative = None if phones else "no_phone"
        else:
            negative = seller.kind
        return (
            text,
            tags,
            {
                "script": SCRIPTS[script],
                "perturbation": perturbation,
                "brands": list(dict.fromkeys(brand for brand, _ in goods)),
                "obfuscation": [how for _, how in spelt],
                "copy_ad": copy,
                "phones": sorted(phones),
                "prices_mad": [price] if "{price}" in template else [],
                "place": place[0] if "{place}" in template else None,
                "importer": seller.importer,
                "negative": negative,
            },
        )

    def brand(self, brand: str, script: int, perturbation: str) -> tuple[str, str]:
        """The brand as a post spells it before any perturbation, and how it is disguised:
        "none", "arabic", "alias", "doubled", "dropped" or "initials"."""
        rng = self.rng
        spellings = [*DEFAULT_ALIASES.get(brand, []), *_MORE_SPELLINGS.get(brand, [])]
        arabic = [s for s in spellings if not s.isascii()]
        if SCRIPTS[script] == "arabic" and arabic and perturbation not in _LATIN_ONLY:
            return rng.choice(arabic), "arabic"
        how = rng.choice(("none", "none", "alias", "doubled", "dropped", "initials"))
        latin = [s for s in spellings if s.isascii() and s != brand.lower()]
        spelt = _obfuscated(brand, how, latin, rng)
        if spelt == brand:
            return rng.choice((brand, brand.upper(), brand.lower())), "none"
        return spelt, how

    def price(self, brand: str, hs_code: str, copy: bool) -> int:
        """Dirhams: a copy at 8-30 % of the genuine retail price, the genuine at about it."""
        line = next(ln for ln in LINES if ln.hs_code == hs_code)
        piece = RETAIL_PIECE.get(line.unit, line.kg_per_unit)
        genuine = line.usd_per_kg * piece * EXCHANGE_RATES["USD"] * BRAND_PREMIUM[brand]
        share = self.rng.uniform(0.08, 0.3) if copy else self.rng.uniform(0.95, 1.15)
        amount = genuine * RETAIL_MARKUP * share
        step = 5 if amount < 100 else 10 if amount < 1000 else 50 if amount < 10_000 else 500
        return max(step, round(amount / step) * step) - (self.rng.random() < 0.3)

    def comments(self) -> list[tuple[str, str]]:
        """Commenters' words, which a reader must drop: now and then with their own phone."""
        said = []
        for _ in range(self.rng.choice((0, 0, 1, 2, 3))):
            text = self.rng.choice(COMMENTS)
            if self.rng.random() < 0.1:
                text += " contactez-moi " + perturb.phone_spellings(self.mobile(), self.rng)
            said.append((self.unique(lambda: f"user{self.rng.getrandbits(32)}"), text))
        return said


def _e164(phone: str) -> str:
    return "+212" + phone.removeprefix("0")


def _counterfeit_goods(items: pl.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """Importer -> (brand, tariff line) of its counterfeits; a brand missing from the field
    is named in the description ("... MARQUE NIKE")."""
    named = {brand.upper(): brand for brand in BRAND_PREMIUM}
    goods = defaultdict(set)
    rows = items.filter(pl.col("fraud_type") == "counterfeit")
    for importer, brand, description, hs_code in rows.select(
        "importer_id", "brand", "description", "hs_code"
    ).iter_rows():
        brand = brand or named.get(description.rpartition(" MARQUE ")[2])
        if brand:
            goods[importer].add((brand, hs_code))
    return {importer: sorted(goods[importer]) for importer in sorted(goods)}


def _obfuscated(brand: str, how: str, aliases: list[str], rng: random.Random) -> str:
    """The brand's letters changed: another spelling, a letter doubled or dropped, the
    initials of a brand of several words; the brand itself when that cannot apply."""
    words = brand.replace("-", " ").split()
    if how == "alias" and aliases:
        return rng.choice(aliases)
    if how == "initials" and len(words) > 1:
        return rng.choice(("", ".", " ")).join(word[0].upper() for word in words)
    if how == "dropped":
        doubled = [i for i in range(1, len(brand)) if brand[i] == brand[i - 1]]
        if doubled:
            i = rng.choice(doubled)
            return brand[:i] + brand[i + 1 :]
        if len(brand) >= 6 and brand.endswith("e"):
            return brand[:-1]
    if how == "doubled":
        i = rng.choice([i for i, c in enumerate(brand) if c.isalpha()])
        return brand[: i + 1] + brand[i] + brand[i + 1 :]
    return brand


def _disguised(perturbation, text: str, rng: random.Random) -> str:
    """The perturbation applied until it changes something (a short brand can come out
    of a random one untouched), or the text as it was if it never does."""
    for _ in range(10):
        disguised = perturbation(text, rng)
        if disguised != text:
            return disguised
    return text


# --- the exports -----------------------------------------------------------------------


def _zeeschuimer(post: _Post, rng: random.Random) -> dict:
    a = post.account
    if a.platform == "tiktok":
        site, data = "tiktok.com", _tiktok(post, rng)
        profile = f"https://www.tiktok.com/@{a.handle}"
        source = "https://www.tiktok.com/api/post/item_list/?aid=1988&count=35&cursor=0"
    else:
        site, data = "instagram.com", _instagram(post, rng)
        profile = f"https://www.instagram.com/{a.handle}/"
        source = f"https://www.instagram.com/api/v1/feed/user/{a.user_id}/?count=12"
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "item_id": post.native_id,
        "timestamp_collected": (post.created + rng.randint(3600, 60 * 86400)) * 1000,
        "source_platform": site,
        "source_platform_url": profile,
        "source_url": source,
        "user_agent": USER_AGENT,
        "data": data,
    }


def _tiktok(post: _Post, rng: random.Random) -> dict:
    a = post.account
    return {
        "id": post.native_id,
        "desc": post.text,
        "createTime": post.created,
        "author": {
            "id": a.user_id,
            "uniqueId": a.handle,
            "nickname": a.name,
            "signature": "Livraison partout au Maroc 🇲🇦",
        },
        "video": {
            "cover": post.picture and post.picture.name,
            "duration": rng.randint(8, 60),
            "width": 576,
            "height": 1024,
        },
        "stats": {
            "diggCount": rng.randint(0, 5000),
            "shareCount": rng.randint(0, 200),
            "commentCount": len(post.comments),
            "playCount": rng.randint(100, 200_000),
        },
        "comments": [{"user": {"uniqueId": u}, "text": t} for u, t in post.comments],
    }


def _instagram(post: _Post, rng: random.Random) -> dict:
    a, picture = post.account, post.picture
    candidate = {"url": picture.name, "width": picture.width, "height": picture.height}
    return {
        "id": post.native_id,
        "pk": post.native_id.partition("_")[0],
        "code": "".join(rng.choices(SHORTCODE, k=11)),
        "taken_at": post.created,
        "caption": {"text": post.text},
        "user": {"pk": a.user_id, "username": a.handle, "full_name": a.name},
        "image_versions2": {"candidates": [candidate]},
        "like_count": rng.randint(0, 3000),
        "comment_count": len(post.comments),
        "preview_comments": [{"user": {"username": u}, "text": t} for u, t in post.comments],
    }


def _research_pages(posts: list[_Post], rng: random.Random) -> list[dict]:
    search_id = f"{rng.getrandbits(64):016x}"
    pages = []
    for start in range(0, len(posts), RESEARCH_PAGE):
        page = posts[start : start + RESEARCH_PAGE]
        videos = [
            {
                "id": int(post.native_id),
                "video_description": post.text,
                "create_time": post.created,
                "username": post.account.handle,
                "region_code": "MA",
                "hashtag_names": [tag.removeprefix("#") for tag in post.tags],
                "voice_to_text": rng.choice(VOICES),
            }
            for post in page
        ]
        data = {
            "videos": videos,
            "cursor": start + len(page),
            "has_more": start + len(page) < len(posts),
            "search_id": search_id,
        }
        error = {"code": "ok", "message": "", "log_id": f"2025{rng.getrandbits(80):020X}"}
        pages.append({"data": data, "error": error})
    return pages


def _facebook_row(post: _Post, rng: random.Random) -> list:
    a = post.account
    return [
        post.native_id,
        _iso(post.created),
        post.text,
        a.name,
        a.handle,
        a.user_id,
        post.link,
        post.picture.name if post.picture else "",
        rng.randint(0, 2000),
    ]


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _broken(maker: _Maker) -> list[str]:
    """Lines a reader must survive: not JSON, a post with no text, a huge text, an image
    that does not decode, a record of another shape with a field nobody knows."""
    rng = maker.rng
    junk = maker.file_name(".jpg")
    (maker.images / junk).write_bytes(b"\xff\xd8\xff\xe0" + rng.randbytes(512))
    account = _Account("tiktok", "broken.sample", "Broken Sample", maker.digits("1", 14))
    huge = " ".join(rng.choices(COPY_PHRASES[0] + _SHOES[0], k=40_000))[:200_000]

    def item(text: str, platform: str = "tiktok", picture: _Picture | None = None) -> str:
        native = maker.digits("7", 18) if platform == "tiktok" else f"{maker.digits('3', 18)}_1"
        post = _Post(
            replace(account, platform=platform),
            "zeeschuimer", native, maker.start, text, [], picture, [], "", {},
        )  # fmt: skip
        return json.dumps(_zeeschuimer(post, rng), ensure_ascii=False)

    other = {
        "platform": "tiktok",
        "id": maker.digits("7", 18),
        "text": "Sbabet Nike high copy 250 DH",
        "author": account.handle,
        "created_at": _iso(maker.start),
        "engagement_forecast": 0.7,
    }
    return [
        '{"id": "7a1c", "item_id": "7301", "data": {"desc": "sbabet',
        item(""),
        item(huge),
        item("Sac copie AAA 300 DH", "instagram", _Picture(junk, None, {}, 1080, 1080)),
        json.dumps(other, ensure_ascii=False),
    ]


def _write_lines(path: Path, lines: list, raw: bool = False) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for line in lines:
            stream.write((line if raw else json.dumps(line, ensure_ascii=False)) + "\n")
