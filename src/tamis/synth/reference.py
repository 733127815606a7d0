"""The synthetic world's fixed facts: countries, sectors, tariff lines, brands, offices,
carriers and the planted fraud's mix, and arrays derived from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import polars as pl

from tamis.declarations import FraudType

NATIONAL_CURRENCY = "MAD"
EXCHANGE_RATES: dict[str, float] = {  # MAD per unit, fixed for the period
    "MAD": 1.0,
    "USD": 10.0,
    "EUR": 10.8,
    "GBP": 12.7,
    "CHF": 11.4,
    "CNY": 1.38,
    "TRY": 0.29,
    "AED": 2.72,
    "INR": 0.12,
    "JPY": 0.066,
}


class Country(NamedTuple):
    price: float  # price level of its goods, relative to a reference origin
    ports: tuple[str, ...]  # UN/LOCODEs of its loading places
    currencies: dict[str, float]  # invoice currency -> share
    agreement: str | None  # Moroccan trade agreement giving a tariff preference
    road: float  # share of its consignments that come by road (ro-ro trucks)
    legal_form: str


# fmt: off
_USD = {"USD": 1.0}
_EUR = {"EUR": 1.0}
COUNTRIES: dict[str, Country] = {
    "CN": Country(0.7, ("CNSHA", "CNNGB", "CNSZX", "CNTAO", "CNCAN"), {"USD": 3, "CNY": 1},
                  None, 0, "CO., LTD"),
    "VN": Country(0.75, ("VNSGN", "VNHPH"), _USD, None, 0, "CO., LTD"),
    "BD": Country(0.65, ("BDCGP",), _USD, None, 0, "LTD"),
    "IN": Country(0.8, ("INNSA", "INMAA", "INMUN"), {"USD": 9, "INR": 1}, None, 0, "PVT LTD"),
    "PK": Country(0.7, ("PKKHI",), _USD, None, 0, "PVT LTD"),
    "MY": Country(0.85, ("MYPKG",), _USD, None, 0, "SDN BHD"),
    "KR": Country(1.15, ("KRPUS", "KRINC"), _USD, None, 0, "CO., LTD"),
    "JP": Country(1.4, ("JPYOK", "JPTYO"), {"USD": 3, "JPY": 2}, None, 0, "CO., LTD"),
    "TR": Country(0.95, ("TRIST", "TRMER", "TRIZM", "TRGEM"), {"USD": 9, "EUR": 8, "TRY": 3},
                  "TR", 0.25, "A.S."),
    "EG": Country(0.85, ("EGALY", "EGPSD"), {"USD": 4, "EUR": 1}, "AGADIR", 0, "S.A.E."),
    "AE": Country(1.0, ("AEJEA", "AEDXB"), {"USD": 7, "AED": 3}, "AE", 0, "LLC"),
    "SA": Country(0.9, ("SAJED", "SADMM"), _USD, None, 0, "CO."),
    "ES": Country(1.15, ("ESALG", "ESVLC", "ESBCN", "ESMAD"), _EUR, "EU", 0.55, "S.L."),
    "PT": Country(1.1, ("PTLIS", "PTLEI"), _EUR, "EU", 0.45, "LDA"),
    "FR": Country(1.3, ("FRMRS", "FRLEH", "FRCDG"), _EUR, "EU", 0.45, "SAS"),
    "IT": Country(1.35, ("ITGOA", "ITSPE", "ITMIL"), _EUR, "EU", 0.3, "S.R.L."),
    "DE": Country(1.4, ("DEHAM", "DEBRV", "DEFRA"), _EUR, "EU", 0.3, "GMBH"),
    "GB": Country(1.3, ("GBFXT", "GBSOU", "GBLHR"), {"GBP": 7, "USD": 3}, "GB", 0.2, "LTD"),
    "CH": Country(1.6, ("CHBSL", "CHZRH"), {"CHF": 3, "EUR": 2}, "EFTA", 0.1, "AG"),
    "US": Country(1.3, ("USNYC", "USSAV", "USHOU"), _USD, "US", 0, "INC."),
    "CA": Country(1.1, ("CAMTR",), _USD, None, 0, "INC."),
    "BR": Country(0.9, ("BRSSZ", "BRPNG"), _USD, None, 0, "LTDA"),
    "AR": Country(0.9, ("ARBUE",), _USD, None, 0, "S.A."),
    "UA": Country(0.85, ("UAODS",), _USD, None, 0, "LLC"),
    "RU": Country(0.9, ("RUNVS",), _USD, None, 0, "OOO"),
    "ET": Country(0.9, ("DJJIB",), _USD, None, 0, "PLC"),  # Ethiopia ships through Djibouti
}
COUNTRY_CODES: tuple[str, ...] = tuple(COUNTRIES)


class Sector(NamedTuple):
    name: str
    popularity: float  # share of importers and suppliers trading in it
    air: float  # share of consignments by air
    goods_use: str
    origins: dict[str, float]  # supplier country -> weight
    bulk: bool = False


SECTORS: tuple[Sector, ...] = (
    Sector("footwear", 6, 0.05, "COM", {"CN": 45, "VN": 15, "TR": 15, "ES": 10, "IT": 8, "IN": 7}),
    Sector("apparel", 9, 0.04, "COM",
           {"CN": 35, "TR": 25, "BD": 12, "ES": 10, "IN": 8, "PT": 5, "IT": 5}),
    Sector("textiles", 6, 0.01, "IND", {"CN": 35, "TR": 25, "IN": 15, "ES": 10, "IT": 10, "PK": 5}),
    Sector("electronics", 7, 0.35, "COM",
           {"CN": 55, "VN": 12, "AE": 12, "KR": 8, "US": 5, "DE": 4, "JP": 4}),
    Sector("appliances", 5, 0.02, "COM",
           {"CN": 40, "TR": 25, "KR": 10, "ES": 8, "IT": 7, "DE": 5, "EG": 5}),
    Sector("vehicles", 6, 0.02, "COM",
           {"DE": 20, "FR": 20, "ES": 15, "JP": 10, "KR": 10, "CN": 10, "TR": 10, "GB": 5}),
    Sector("pharma", 4, 0.35, "COM",
           {"FR": 30, "IN": 15, "DE": 10, "ES": 10, "IT": 10, "CH": 10, "US": 10, "GB": 5}),
    Sector("cosmetics", 5, 0.15, "COM",
           {"FR": 30, "ES": 15, "TR": 15, "CN": 15, "IT": 10, "AE": 10, "KR": 5}),
    Sector("food", 4, 0.0, "COM",
           {"CN": 30, "BR": 15, "VN": 15, "IN": 10, "FR": 10, "ES": 10, "ET": 5, "CH": 5}),
    Sector("staples", 2, 0.0, "COM",
           {"FR": 25, "UA": 15, "RU": 15, "AR": 15, "BR": 15, "US": 10, "CA": 5}, bulk=True),
    Sector("oils", 2, 0.0, "IND", {"ES": 20, "FR": 15, "AE": 15, "US": 15, "TR": 15, "IT": 10}),
    Sector("plastics", 5, 0.0, "IND", {"CN": 30, "TR": 20, "ES": 15, "SA": 15, "DE": 10, "IT": 10}),
    Sector("metals", 5, 0.0, "IND",
           {"CN": 30, "TR": 25, "ES": 15, "UA": 10, "IT": 10, "EG": 5, "DE": 5}),
    Sector("toys", 3, 0.08, "COM", {"CN": 70, "VN": 10, "TR": 5, "ES": 5, "US": 5, "JP": 5}),
    Sector("furniture", 4, 0.0, "COM", {"CN": 40, "TR": 20, "ES": 15, "IT": 15, "MY": 10}),
    Sector("luxury", 2, 0.5, "COM", {"CN": 45, "IT": 15, "FR": 15, "CH": 10, "TR": 10, "AE": 5}),
    Sector("machinery", 4, 0.03, "IND",
           {"CN": 25, "DE": 20, "IT": 20, "FR": 10, "ES": 10, "US": 5, "JP": 5, "TR": 5}),
    Sector("building", 4, 0.0, "COM", {"ES": 35, "CN": 20, "TR": 15, "IT": 10, "EG": 10, "PT": 10}),
    Sector("paper", 3, 0.0, "IND",
           {"ES": 20, "PT": 15, "TR": 15, "CN": 15, "FR": 10, "DE": 10, "IT": 10, "US": 5}),
)


class Line(NamedTuple):
    """A national tariff line as traded: unit, typical consignment and price."""

    hs_code: str
    sector: str
    description: str
    unit: str  # KG, U (pieces, pairs, vehicles) or L
    kg_per_unit: float  # net kg of one U, density of one L, 1 for KG
    typical_kg: float  # median net mass of one item shipped by sea
    usd_per_kg: float  # median price at origin price level 1
    duty: float  # MFN duty rate, %
    vat: float = 20.0
    weight: float = 1.0  # share of its sector's items
    brands: tuple[str, ...] = ()
    alias: str | None = None  # lower-duty code of another heading it gets declared under


_SHOES = ("Nike", "Adidas", "Puma")
LINES: tuple[Line, ...] = (
    Line("6403990000", "footwear", "CHAUSSURES A DESSUS EN CUIR NATUREL", "U", 0.9, 900, 22, 40,
         weight=3, brands=_SHOES[:2], alias="6406900000"),
    Line("6402990000", "footwear", "CHAUSSURES EN CAOUTCHOUC OU MATIERE PLASTIQUE", "U", 0.6,
         1500, 7, 40, weight=3, brands=_SHOES, alias="6406900000"),
    Line("6404110000", "footwear", "CHAUSSURES DE SPORT A DESSUS EN MATIERES TEXTILES", "U", 0.7,
         800, 16, 40, weight=3, brands=_SHOES, alias="6406900000"),
    Line("6406900000", "footwear", "PARTIES DE CHAUSSURES, SEMELLES ET TALONS", "KG", 1, 1200,
         5, 10),
    Line("6204620000", "apparel", "PANTALONS ET SHORTS DE COTON POUR FEMMES", "U", 0.45, 600,
         20, 40, weight=3, brands=("Levi's",), alias="5208520000"),
    Line("6203420000", "apparel", "PANTALONS ET SHORTS DE COTON POUR HOMMES", "U", 0.55, 600,
         18, 40, weight=3, brands=("Levi's",), alias="5208520000"),
    Line("6109100000", "apparel", "T-SHIRTS ET MAILLOTS DE CORPS EN BONNETERIE DE COTON", "U",
         0.2, 500, 15, 40, weight=4, brands=("Nike", "Adidas", "Lacoste"), alias="6006220000"),
    Line("6110200000", "apparel", "CHANDAILS, PULL-OVERS ET GILETS DE COTON", "U", 0.4, 500,
         17, 40, weight=2, brands=("Lacoste",), alias="6006220000"),
    Line("6307909000", "apparel", "AUTRES ARTICLES TEXTILES CONFECTIONNES", "KG", 1, 800, 5, 25),
    Line("5208520000", "textiles", "TISSUS DE COTON IMPRIMES, ARMURE TOILE", "KG", 1, 2500, 6.5,
         10, weight=3),
    Line("5407610000", "textiles", "TISSUS DE FILAMENTS DE POLYESTER NON TEXTURES", "KG", 1,
         3000, 3.8, 10, weight=3),
    Line("6006220000", "textiles", "ETOFFES DE BONNETERIE DE COTON, TEINTES", "KG", 1, 2000,
         5.5, 10, weight=2),
    Line("5509210000", "textiles", "FILS DE FIBRES DISCONTINUES DE POLYESTER", "KG", 1, 4000,
         2.4, 2.5, weight=2),
    Line("8517130000", "electronics", "TELEPHONES INTELLIGENTS (SMARTPHONES)", "U", 0.35, 120,
         900, 2.5, weight=4, brands=("Apple", "Samsung", "Xiaomi")),
    Line("8517620000", "electronics", "ROUTEURS ET APPAREILS DE TRANSMISSION DE DONNEES", "U",
         0.8, 150, 120, 2.5, weight=2),
    Line("8471300000", "electronics", "ORDINATEURS PORTABLES", "U", 2.4, 250, 280, 2.5,
         weight=3, brands=("Apple", "HP", "Lenovo")),
    Line("8528720000", "electronics", "TELEVISEURS COULEUR A ECRAN PLAT", "U", 12, 1500, 35, 25,
         weight=3, brands=("Samsung", "LG", "Sony"), alias="8528520000"),
    Line("8528520000", "electronics", "MONITEURS POUR ORDINATEURS", "U", 5, 400, 45, 2.5),
    Line("8418210000", "appliances", "REFRIGERATEURS MENAGERS A COMPRESSION", "U", 55, 3000, 7,
         25, weight=3, brands=("Samsung", "LG", "Bosch")),
    Line("8450110000", "appliances", "MACHINES A LAVER LE LINGE AUTOMATIQUES", "U", 62, 2500,
         6.5, 25, weight=3, brands=("Samsung", "LG", "Bosch")),
    Line("8509400000", "appliances", "ROBOTS MENAGERS, BROYEURS ET MELANGEURS D'ALIMENTS", "U", 3,
         600, 11, 40, weight=2, brands=("Bosch", "Philips"), alias="8479899000"),
    Line("8703230000", "vehicles", "VOITURES DE TOURISME, CYLINDREE 1500 A 3000 CM3", "U", 1400,
         2800, 13, 17.5, weight=3, alias="8704210000"),
    Line("8703220000", "vehicles", "VOITURES DE TOURISME, CYLINDREE 1000 A 1500 CM3", "U", 1100,
         2200, 10, 17.5, weight=3, alias="8704210000"),
    Line("8704210000", "vehicles", "VEHICULES UTILITAIRES DIESEL, POIDS EN CHARGE <= 5 T", "U",
         1800, 3600, 9, 10),
    Line("8708999000", "vehicles", "AUTRES PARTIES ET ACCESSOIRES DE VEHICULES AUTOMOBILES", "KG",
         1, 1500, 8, 17.5, weight=3, brands=("Bosch",), alias="8483409000"),
    Line("4011100000", "vehicles", "PNEUMATIQUES NEUFS POUR VOITURES DE TOURISME", "U", 8.5,
         4000, 3.8, 25, weight=3, brands=("Michelin",)),
    Line("3004900000", "pharma", "MEDICAMENTS CONDITIONNES POUR LA VENTE AU DETAIL", "KG", 1,
         400, 55, 2.5, vat=7, brands=("Sanofi", "Pfizer")),
    Line("3304990000", "cosmetics", "PREPARATIONS POUR LES SOINS DE LA PEAU", "KG", 1, 600, 14,
         25, weight=4, brands=("L'Oreal", "Nivea"), alias="3004900000"),
    Line("3305100000", "cosmetics", "SHAMPOOINGS", "KG", 1, 1200, 3.5, 25, weight=3,
         brands=("L'Oreal", "Nivea"), alias="3402909000"),
    Line("3303000000", "cosmetics", "PARFUMS ET EAUX DE TOILETTE", "L", 0.95, 150, 38, 40,
         weight=2, brands=("Chanel", "Dior")),
    Line("3401110000", "cosmetics", "SAVONS DE TOILETTE", "KG", 1, 2500, 1.8, 40, weight=2,
         alias="3402909000"),
    Line("3402909000", "cosmetics", "PREPARATIONS TENSIO-ACTIVES DE LAVAGE ET DE NETTOYAGE", "KG",
         1, 3000, 1.4, 10, weight=2),
    Line("0901110000", "food", "CAFE NON TORREFIE, NON DECAFEINE", "KG", 1, 18000, 4.2, 2.5,
         weight=2),
    Line("0902100000", "food", "THE VERT EN EMBALLAGES DE PLUS DE 3 KG", "KG", 1, 20000, 3.2,
         32.5, weight=3, alias="1211909000"),
    Line("1211909000", "food", "PLANTES ET PARTIES DE PLANTES POUR TISANES", "KG", 1, 3000, 2.8,
         2.5),
    Line("2101110000", "food", "EXTRAITS ET CONCENTRES DE CAFE (CAFE SOLUBLE)", "KG", 1, 2000, 9,
         40, weight=2, brands=("Nescafe",), alias="0901110000"),
    Line("1001990000", "staples", "FROMENT (BLE) TENDRE", "KG", 1, 3e6, 0.26, 2.5, vat=10,
         weight=3),
    Line("1701140000", "staples", "SUCRES BRUTS DE CANNE", "KG", 1, 2e6, 0.45, 35, vat=10,
         weight=2),
    Line("1507100000", "staples", "HUILE DE SOJA BRUTE", "L", 0.92, 1.5e6, 1.0, 2.5, vat=10,
         weight=2),
    Line("2710192000", "oils", "HUILES LUBRIFIANTES", "L", 0.88, 15000, 2.0, 25, vat=10,
         weight=3, alias="3403190000"),
    Line("3403190000", "oils", "PREPARATIONS LUBRIFIANTES A MOINS DE 70 % D'HUILES DE PETROLE",
         "KG", 1, 5000, 3.0, 2.5),
    Line("3901100000", "plastics", "POLYETHYLENE DE DENSITE < 0,94 EN FORMES PRIMAIRES", "KG", 1,
         25000, 1.15, 2.5, weight=3),
    Line("3920100000", "plastics", "PLAQUES, FEUILLES ET PELLICULES EN POLYETHYLENE", "KG", 1,
         8000, 2.1, 10, weight=2),
    Line("3923210000", "plastics", "SACS ET SACHETS EN POLYMERES DE L'ETHYLENE", "KG", 1, 6000,
         2.0, 40, weight=2, alias="3920100000"),
    Line("3926909000", "plastics", "AUTRES OUVRAGES EN MATIERES PLASTIQUES", "KG", 1, 3000, 4.0,
         25, weight=3, alias="3920100000"),
    Line("7208510000", "metals", "PRODUITS LAMINES PLATS EN ACIER, A CHAUD, EPAISSEUR > 10 MM",
         "KG", 1, 60000, 0.65, 10, weight=2),
    Line("7214200000", "metals", "BARRES EN ACIER CRENELEES POUR BETON ARME", "KG", 1, 80000,
         0.58, 25, weight=2),
    Line("7306300000", "metals", "TUBES SOUDES DE SECTION CIRCULAIRE EN FER OU ACIER", "KG", 1,
         20000, 0.95, 25, weight=2, alias="7304390000"),
    Line("7304390000", "metals", "TUBES SANS SOUDURE EN FER OU ACIER NON ALLIE", "KG", 1, 15000,
         1.35, 2.5),
    Line("7604299000", "metals", "PROFILES EN ALLIAGES D'ALUMINIUM", "KG", 1, 8000, 4.1, 25,
         weight=2),
    Line("7318150000", "metals", "VIS ET BOULONS EN FONTE, FER OU ACIER", "KG", 1, 3000, 2.4, 10,
         weight=2),
    Line("9503000000", "toys", "JOUETS, MODELES REDUITS ET PUZZLES", "KG", 1, 2500, 5.5, 40,
         weight=4, brands=("Lego", "Mattel"), alias="3926909000"),
    Line("9504500000", "toys", "CONSOLES ET MACHINES DE JEUX VIDEO", "U", 4, 300, 110, 25,
         weight=2, brands=("Sony", "Nintendo"), alias="8471300000"),
    Line("9506620000", "toys", "BALLONS ET BALLES GONFLABLES", "U", 0.45, 800, 5, 25,
         brands=_SHOES),
    Line("9403600000", "furniture", "AUTRES MEUBLES EN BOIS", "KG", 1, 4000, 3.4, 40, weight=3,
         alias="4421999000"),
    Line("4421999000", "furniture", "AUTRES OUVRAGES EN BOIS", "KG", 1, 3000, 2.5, 25),
    Line("9401610000", "furniture", "SIEGES REMBOURRES AVEC BATI EN BOIS", "U", 32, 3000, 5, 40,
         weight=2),
    Line("9405110000", "furniture", "LUSTRES ET LUMINAIRES ELECTRIQUES A LED", "KG", 1, 1200, 9.5,
         25, weight=2, brands=("Philips",)),
    Line("4202210000", "luxury", "SACS A MAIN A SURFACE EXTERIEURE EN CUIR NATUREL", "U", 0.9,
         200, 38, 40, weight=3, brands=("Louis Vuitton", "Gucci"), alias="4205000000"),
    Line("4205000000", "luxury", "AUTRES OUVRAGES EN CUIR NATUREL OU RECONSTITUE", "KG", 1, 300,
         14, 25),
    Line("9102110000", "luxury", "MONTRES-BRACELETS A AFFICHAGE MECANIQUE", "U", 0.12, 40, 280,
         25, weight=2, brands=("Rolex", "Casio")),
    Line("9004100000", "luxury", "LUNETTES SOLAIRES", "U", 0.06, 60, 80, 25, weight=2,
         brands=("Ray-Ban",)),
    Line("8429520000", "machinery", "PELLES MECANIQUES A TOURELLE PIVOTANT A 360 DEGRES", "U",
         21000, 21000, 6, 2.5),
    Line("8481800000", "machinery", "ARTICLES DE ROBINETTERIE ET ORGANES SIMILAIRES", "KG", 1,
         2000, 11, 10, weight=3),
    Line("8413700000", "machinery", "POMPES CENTRIFUGES", "U", 25, 1000, 10, 2.5, weight=2),
    Line("8479899000", "machinery", "MACHINES ET APPAREILS MECANIQUES A FONCTION PROPRE", "KG", 1,
         1500, 18, 2.5, weight=2),
    Line("8483409000", "machinery", "ENGRENAGES, ROUES DE FRICTION ET BOITES DE VITESSES", "KG",
         1, 800, 10, 2.5),
    Line("6907210000", "building", "CARREAUX ET DALLES DE CERAMIQUE", "KG", 1, 25000, 0.5, 40,
         weight=3),
    Line("7005290000", "building", "GLACES FLOTTEES NON ARMEES", "KG", 1, 20000, 0.55, 25,
         weight=2),
    Line("2523290000", "building", "CIMENTS PORTLAND, AUTRES QUE BLANCS", "KG", 1, 200000, 0.07,
         40),
    Line("4802560000", "paper", "PAPIERS NON COUCHES DE 40 A 150 G/M2, EN FEUILLES", "KG", 1,
         15000, 0.95, 10, weight=2),
    Line("4819100000", "paper", "CAISSES ET CARTONS EN PAPIER OU CARTON ONDULE", "KG", 1, 6000,
         1.3, 40, weight=2, alias="4802560000"),
)

BRAND_PREMIUM: dict[str, float] = {  # genuine price / unbranded price of the same goods
    "Nike": 2.5, "Adidas": 2.4, "Puma": 2.0, "Levi's": 2.5, "Lacoste": 3.0,
    "Apple": 2.0, "Samsung": 1.5, "Xiaomi": 1.1, "HP": 1.3, "Lenovo": 1.2, "LG": 1.3,
    "Sony": 1.4, "Nintendo": 1.4, "Bosch": 1.6, "Philips": 1.4, "Michelin": 1.6,
    "Sanofi": 1.5, "Pfizer": 1.6, "L'Oreal": 2.0, "Nivea": 1.5, "Chanel": 6.0, "Dior": 6.0,
    "Nescafe": 1.6, "Lego": 2.5, "Mattel": 1.8, "Louis Vuitton": 15.0, "Gucci": 12.0,
    "Rolex": 60.0, "Casio": 1.3, "Ray-Ban": 4.0,
}

# The importers each brand's owner has appointed; anyone else importing it is at best a
# parallel importer. Fixed, so that a watchlist can be written against it.
AUTHORISED_DISTRIBUTORS: dict[str, tuple[str, ...]] = {
    "Nike": ("IMP000011", "IMP000412"), "Adidas": ("IMP000023", "IMP000871"),
    "Puma": ("IMP000145",), "Levi's": ("IMP000067",), "Lacoste": ("IMP000302",),
    "Apple": ("IMP000005", "IMP000390"), "Samsung": ("IMP000008", "IMP000156"),
    "Xiaomi": ("IMP000214",), "HP": ("IMP000031",), "Lenovo": ("IMP000477",),
    "LG": ("IMP000019",), "Sony": ("IMP000093",), "Nintendo": ("IMP000640",),
    "Bosch": ("IMP000044", "IMP000528"), "Philips": ("IMP000117",),
    "Michelin": ("IMP000076", "IMP000333"), "Sanofi": ("IMP000002",), "Pfizer": ("IMP000014",),
    "L'Oreal": ("IMP000027", "IMP000705"), "Nivea": ("IMP000088",), "Chanel": ("IMP000250",),
    "Dior": ("IMP000251",), "Nescafe": ("IMP000039",), "Lego": ("IMP000181",),
    "Mattel": ("IMP000562",), "Louis Vuitton": ("IMP000099",), "Gucci": ("IMP000128",),
    "Rolex": ("IMP000064",), "Casio": ("IMP000233",), "Ray-Ban": ("IMP000150",),
}

OFFICES: dict[str, dict[str, float]] = {  # transport mode -> office of clearance -> share
    "1": {"CASA-PORT": 48, "TANGER-MED": 34, "AGADIR": 8, "NADOR": 6, "OUJDA": 4},
    "3": {"TANGER-MED": 85, "NADOR": 10, "OUJDA": 5},
    "4": {"CASA-AIR": 92, "AGADIR": 8},
}
MODES: tuple[str, ...] = ("1", "3", "4")  # sea, road, air
MODE_SCALE = (1.0, 0.5, 0.06)  # share of a typical consignment that one item carries
MODE_CAP_KG = (5e6, 24_000, 5_000)
SUFFIXES = ("", "", "", " DIVERS", " - MODELES ASSORTIS")  # how brokers pad descriptions
CARRIERS: dict[str, tuple[tuple[str, str], ...]] = {  # mode -> (name, code for bill numbers)
    "1": (("MAERSK", "MAEU"), ("MSC", "MSCU"), ("CMA CGM", "CMDU"), ("COSCO", "COSU"),
          ("HAPAG-LLOYD", "HLCU")),
    "3": (("TRANSPORTS DU DETROIT", "TDD"), ("TIR MAROC LOGISTIQUE", "TML"),
          ("EUROTRANS CARGO", "ETC")),
    "4": (("ROYAL AIR MAROC CARGO", "147"), ("TURKISH CARGO", "235"),
          ("EMIRATES SKYCARGO", "176"), ("AIR FRANCE KLM CARGO", "057")),
}
COURIERS: tuple[str, ...] = ("DHL", "FEDEX", "UPS", "ARAMEX")
VESSELS: tuple[str, ...] = (
    "ATLAS", "HORIZON", "AURORA", "VEGA", "ORION", "NEPTUNE", "SIRIUS", "ALTAIR", "MERIDIAN",
    "BOREAS", "CASSIOPEIA", "POLARIS",
)
TRANSIT_HUBS: tuple[str, ...] = ("ES", "AE")
ORIGIN_COVERS: dict[str, float] = {"TR": 40, "ES": 20, "IT": 10, "FR": 10, "EG": 10, "AE": 10}
PROCEDURES: dict[str, float] = {"4000": 0.92, "7100": 0.06, "5100": 0.02}

CITIES: dict[str, tuple[float, str]] = {  # city -> (share of importers, postcode)
    "CASABLANCA": (45, "20000"), "TANGER": (12, "90000"), "RABAT": (8, "10000"),
    "MARRAKECH": (7, "40000"), "AGADIR": (7, "80000"), "FES": (6, "30000"),
    "OUJDA": (4, "60000"), "KENITRA": (4, "14000"), "MEKNES": (4, "50000"),
    "NADOR": (3, "62000"),
}
STREETS: tuple[str, ...] = (
    "BD MOHAMMED V", "BD ZERKTOUNI", "RUE IBN BATOUTA", "BD ABDELMOUMEN", "AV HASSAN II",
    "RUE MOULAY YOUSSEF", "BD D'ANFA", "ZONE INDUSTRIELLE SIDI BERNOUSSI", "AV DES FAR",
    "QUARTIER INDUSTRIEL AIN SEBAA", "RUE AL MASSIRA", "BD AL QODS", "LOT AL WAHDA",
    "RUE ALLAL BEN ABDELLAH", "ZONE FRANCHE D'EXPORTATION",
)
IMPORTER_WORDS = (
    ("ATLAS", "SAHARA", "MAGHREB", "ORIENT", "NOUR", "AMAL", "ANFA", "ARGANA", "ZIZ", "RIF",
     "SOUSS", "OCEAN", "MEDINA", "ANDALOUS", "IDRISSI", "CHAOUIA", "DOUKKALA", "TOUBKAL",
     "ATLANTIC", "SAFRAN", "YASMINE", "OASIS", "ZENITH", "BARAKA", "TAFILALET"),
    ("GLOBAL", "NEGOCE", "TRADING", "DISTRIBUTION", "IMPORT EXPORT", "COMMERCE", "INDUSTRIES",
     "SERVICES", "EQUIPEMENT", "FOURNITURES", "PRESTIGE", "APPROVISIONNEMENT"),
    ("", "MAROC", "INTERNATIONAL", "PLUS", "NORD", "SUD", "CENTRE"),
)
IMPORTER_FORMS = ("SARL", "SARL AU", "SA")
SUPPLIER_WORDS = (
    ("GOLDEN", "BRIGHT", "ORIENT", "GLOBAL", "UNITED", "PACIFIC", "STAR", "SUN", "EVER",
     "GREAT", "ROYAL", "PRIME", "NEW", "UNION", "SILVER", "DRAGON", "EAGLE", "OCEAN", "DELTA",
     "ALPHA", "NOVA", "GRAND", "BLUE", "HARVEST", "SUMMIT"),
    ("WAY", "LINK", "FIELD", "BRIDGE", "RIVER", "STONE", "LAND", "GATE", "POINT", "WIND",
     "HILL", "BAY"),
    ("TRADING", "INDUSTRIAL", "IMPEX", "MANUFACTURING", "EXPORT", "SUPPLY", "INTERNATIONAL",
     "HOLDING", "GROUP", "PRODUCTS", "COMMERCIAL", "INDUSTRIES"),
)

# fmt: on

_PLANTED = (
    FraudType.VALUATION,
    FraudType.CLASSIFICATION,
    FraudType.ORIGIN,
    FraudType.COUNTERFEIT,
    FraudType.QUANTITY,
)
FRAUD_TYPES: tuple[str, ...] = tuple(t.value for t in _PLANTED)
VALUATION, CLASSIFICATION, ORIGIN, COUNTERFEIT, QUANTITY = range(len(FRAUD_TYPES))
FRAUD_MIX = (0.28, 0.30, 0.16, 0.16, 0.10)
RING_MIX = (0.80, 0.10, 0.0, 0.0, 0.10)
# Chance that each further eligible item of a fraudulent declaration is also touched.
FRAUD_SPREAD = (0.7, 0.0, 1.0, 0.8, 1.0)

N_IMPORTERS = 2_000
N_SUPPLIERS = 3_000
N_DECLARANTS = 150
MAX_SLOTS = 6  # (supplier, sector) trade lanes per importer
RING_SIZE = 12
RING_VOLUME = 0.015  # the ring's share of a full year's declarations
RISKY_SHARE = 0.12
NEW_SHARE = 0.1  # importers first seen during the period
BASE_FRAUD = 0.025
RING_FRAUD = 0.92
UNDECLARED_MANIFESTS = 0.005
RAMADAN_1446 = np.datetime64("2025-03-01")
LUNAR_YEAR = 354.367

GROUND_TRUTH: tuple[str, ...] = ("fraud", "fraud_type", "revenue_at_stake", "ring_member")
MONEY = pl.Decimal(18, 2)


# --- arrays derived from the reference data --------------------------------------------


def _index(values: Sequence[str]) -> dict[str, int]:
    return {v: i for i, v in enumerate(values)}


def cumulative(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Padded cumulative probabilities, one row per distribution; pads are never drawn."""
    cum = np.full((len(rows), max(len(r) for r in rows)), 2.0)
    for i, row in enumerate(rows):
        cum[i, : len(row)] = np.cumsum(row) / np.sum(row)
        cum[i, len(row) - 1] = 1.0
    return cum


def padded(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of indices padded with -1, and each row's length."""
    table = np.full((len(rows), max(1, *(len(r) for r in rows))), -1)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table, np.array([len(r) for r in rows])


COUNTRY_INDEX = _index(COUNTRY_CODES)
SECTOR_INDEX = _index([s.name for s in SECTORS])
_LINE = _index([line.hs_code for line in LINES])
BRAND_NAMES = tuple(BRAND_PREMIUM)
_BRAND = _index(BRAND_NAMES)
CURRENCIES = tuple(EXCHANGE_RATES)
RATES = np.array(list(EXCHANGE_RATES.values()))
AGREEMENTS = tuple(sorted({c.agreement for c in COUNTRIES.values() if c.agreement}))
UNITS = ("KG", "U", "L")
PROOFS = tuple("CO" if a in ("AE", "US") else "EUR.1" for a in AGREEMENTS)
OFFICE_CODES = tuple(dict.fromkeys(office for table in OFFICES.values() for office in table))
OFFICE_CUM = cumulative([[OFFICES[m].get(office, 0) for office in OFFICE_CODES] for m in MODES])

COUNTRY_PRICE = np.array([c.price for c in COUNTRIES.values()])
COUNTRY_ROAD = np.array([c.road for c in COUNTRIES.values()])
COUNTRY_AGREEMENT = np.array(
    [AGREEMENTS.index(c.agreement) if c.agreement else -1 for c in COUNTRIES.values()]
)
PORTS = tuple(p for c in COUNTRIES.values() for p in c.ports)
COUNTRY_PORTS, COUNTRY_PORT_COUNT = padded(
    [[PORTS.index(p) for p in c.ports] for c in COUNTRIES.values()]
)
COUNTRY_CURRENCY, _ = padded(
    [[CURRENCIES.index(k) for k in c.currencies] for c in COUNTRIES.values()]
)
COUNTRY_CURRENCY_CUM = cumulative([list(c.currencies.values()) for c in COUNTRIES.values()])

SECTOR_AIR = np.array([s.air for s in SECTORS])
SECTOR_BULK = np.array([s.bulk for s in SECTORS])
SECTOR_USE = np.array([s.goods_use for s in SECTORS])
SECTOR_POPULARITY = np.array([s.popularity for s in SECTORS], float)
SECTOR_LINES, _ = padded(
    [[i for i, ln in enumerate(LINES) if ln.sector == s.name] for s in SECTORS]
)
SECTOR_LINE_CUM = cumulative([[ln.weight for ln in LINES if ln.sector == s.name] for s in SECTORS])

LINE_SECTOR = np.array([SECTOR_INDEX[ln.sector] for ln in LINES])
LINE_UNIT = np.array([UNITS.index(ln.unit) for ln in LINES])
LINE_KG_PER_UNIT = np.array([ln.kg_per_unit for ln in LINES])
LINE_TYPICAL_KG = np.array([ln.typical_kg for ln in LINES])
LINE_USD_PER_KG = np.array([ln.usd_per_kg for ln in LINES])
LINE_MFN = np.array([ln.duty for ln in LINES])
# Agreements free industrial goods (chapters 25-97) and halve duty on farm goods.
LINE_PREFERENTIAL = np.where(
    np.array([int(ln.hs_code[:2]) for ln in LINES]) >= 25, 0.0, LINE_MFN / 2
)
LINE_VAT = np.array([ln.vat for ln in LINES])
LINE_ALIAS = np.array([_LINE[ln.alias] if ln.alias else -1 for ln in LINES])
LINE_BRANDS, LINE_BRAND_COUNT = padded([[_BRAND[b] for b in ln.brands] for ln in LINES])
BRAND_PREMIUMS = np.array(list(BRAND_PREMIUM.values()))


def importer_index(importer_id: str) -> int:
    return int(importer_id.removeprefix("IMP")) - 1


def _authorised_brands() -> np.ndarray:
    """(importer, line) -> the brand the importer distributes on that line, or -1."""
    table = np.full((N_IMPORTERS, len(LINES)), -1)
    for brand, importers in AUTHORISED_DISTRIBUTORS.items():
        lines = [i for i, ln in enumerate(LINES) if brand in ln.brands]
        for importer in map(importer_index, importers):
            assert (table[importer, lines] < 0).all(), f"{importer}: one brand per line"
            table[importer, lines] = _BRAND[brand]
    return table


AUTHORISED = _authorised_brands()
