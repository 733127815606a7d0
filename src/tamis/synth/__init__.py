"""Synthetic import declarations with planted, labelled fraud.

`generate` builds a period of imports into Morocco (national currency MAD): ~2,000
importers with Zipf-like volumes and recurring suppliers, ~150 customs brokers, ~70
national tariff lines with plausible duty rates, units and log-normal prices by origin,
seasonality (busy before Ramadan and summer, quiet in August and at weekends) and one
manifest (bill of lading) per declaration carrying the true gross mass.

Fraud is planted on about 7 % of declarations, mostly by a minority of risky importers, and
labelled per item (``fraud``, ``fraud_type``, ``revenue_at_stake``):

- valuation: invoice (so customs value, duty and tax) divided by 2.5 to 10;
- classification: declared under a lower-duty code of another heading; the description
  still names the true goods;
- origin: non-preferential goods declared of a preferential origin with a proof and a
  preference code; export country and loading place betray the true route three times
  out of four;
- counterfeit: branded goods far below the brand's price, by an importer that is not
  among the brand's `AUTHORISED_DISTRIBUTORS`; the brand is in ``brand`` or only in the
  description;
- quantity: masses, quantity and value understated by 30 to 70 %; the manifest keeps the
  true gross mass;
- a ring of shell importers (new during the period, 3 shared addresses, one broker, the
  same suppliers) almost all of whose declarations are fraudulent (``ring_member``).

``revenue_at_stake`` is always the true duties and taxes minus the declared ones. For a
counterfeit the "true" value is that of the genuine branded goods: a proxy for the fine
and the rights holder's loss, since the fake's own price is what was declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from tamis.declarations import FIELDS, FraudType

# --- reference data -------------------------------------------------------------------

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
_IMPORTER_WORDS = (
    ("ATLAS", "SAHARA", "MAGHREB", "ORIENT", "NOUR", "AMAL", "ANFA", "ARGANA", "ZIZ", "RIF",
     "SOUSS", "OCEAN", "MEDINA", "ANDALOUS", "IDRISSI", "CHAOUIA", "DOUKKALA", "TOUBKAL",
     "ATLANTIC", "SAFRAN", "YASMINE", "OASIS", "ZENITH", "BARAKA", "TAFILALET"),
    ("GLOBAL", "NEGOCE", "TRADING", "DISTRIBUTION", "IMPORT EXPORT", "COMMERCE", "INDUSTRIES",
     "SERVICES", "EQUIPEMENT", "FOURNITURES", "PRESTIGE", "APPROVISIONNEMENT"),
    ("", "MAROC", "INTERNATIONAL", "PLUS", "NORD", "SUD", "CENTRE"),
)
_IMPORTER_FORMS = ("SARL", "SARL AU", "SA")
_SUPPLIER_WORDS = (
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


def _cumulative(rows: Sequence[Sequence[float]]) -> np.ndarray:
    """Padded cumulative probabilities, one row per distribution; pads are never drawn."""
    cum = np.full((len(rows), max(len(r) for r in rows)), 2.0)
    for i, row in enumerate(rows):
        cum[i, : len(row)] = np.cumsum(row) / np.sum(row)
        cum[i, len(row) - 1] = 1.0
    return cum


def _padded(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of indices padded with -1, and each row's length."""
    table = np.full((len(rows), max(1, *(len(r) for r in rows))), -1)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table, np.array([len(r) for r in rows])


_COUNTRY = _index(COUNTRY_CODES)
_SECTOR = _index([s.name for s in SECTORS])
_LINE = _index([line.hs_code for line in LINES])
_BRANDS = tuple(BRAND_PREMIUM)
_BRAND = _index(_BRANDS)
_CURRENCIES = tuple(EXCHANGE_RATES)
_RATES = np.array(list(EXCHANGE_RATES.values()))
_AGREEMENTS = tuple(sorted({c.agreement for c in COUNTRIES.values() if c.agreement}))
_UNITS = ("KG", "U", "L")
_PROOFS = tuple("CO" if a in ("AE", "US") else "EUR.1" for a in _AGREEMENTS)
_OFFICES = tuple(dict.fromkeys(office for table in OFFICES.values() for office in table))
_OFFICE_CUM = _cumulative([[OFFICES[m].get(office, 0) for office in _OFFICES] for m in MODES])

_C_PRICE = np.array([c.price for c in COUNTRIES.values()])
_C_ROAD = np.array([c.road for c in COUNTRIES.values()])
_C_AGREEMENT = np.array(
    [_AGREEMENTS.index(c.agreement) if c.agreement else -1 for c in COUNTRIES.values()]
)
_PORTS = tuple(p for c in COUNTRIES.values() for p in c.ports)
_C_PORTS, _C_PORT_COUNT = _padded([[_PORTS.index(p) for p in c.ports] for c in COUNTRIES.values()])
_C_CURRENCY, _ = _padded([[_CURRENCIES.index(k) for k in c.currencies] for c in COUNTRIES.values()])
_C_CURRENCY_CUM = _cumulative([list(c.currencies.values()) for c in COUNTRIES.values()])

_S_AIR = np.array([s.air for s in SECTORS])
_S_BULK = np.array([s.bulk for s in SECTORS])
_S_USE = np.array([s.goods_use for s in SECTORS])
_S_POPULARITY = np.array([s.popularity for s in SECTORS], float)
_S_LINES, _ = _padded([[i for i, ln in enumerate(LINES) if ln.sector == s.name] for s in SECTORS])
_S_LINE_CUM = _cumulative([[ln.weight for ln in LINES if ln.sector == s.name] for s in SECTORS])

_L_SECTOR = np.array([_SECTOR[ln.sector] for ln in LINES])
_L_UNIT = np.array([_UNITS.index(ln.unit) for ln in LINES])
_L_KG_PER_UNIT = np.array([ln.kg_per_unit for ln in LINES])
_L_TYPICAL_KG = np.array([ln.typical_kg for ln in LINES])
_L_USD_PER_KG = np.array([ln.usd_per_kg for ln in LINES])
_L_MFN = np.array([ln.duty for ln in LINES])
# Agreements free industrial goods (chapters 25-97) and halve duty on farm goods.
_L_PREFERENTIAL = np.where(np.array([int(ln.hs_code[:2]) for ln in LINES]) >= 25, 0.0, _L_MFN / 2)
_L_VAT = np.array([ln.vat for ln in LINES])
_L_ALIAS = np.array([_LINE[ln.alias] if ln.alias else -1 for ln in LINES])
_L_BRANDS, _L_BRAND_COUNT = _padded([[_BRAND[b] for b in ln.brands] for ln in LINES])
_B_PREMIUM = np.array(list(BRAND_PREMIUM.values()))


def _importer_index(importer_id: str) -> int:
    return int(importer_id.removeprefix("IMP")) - 1


def _authorised_brands() -> np.ndarray:
    """(importer, line) -> the brand the importer distributes on that line, or -1."""
    table = np.full((N_IMPORTERS, len(LINES)), -1)
    for brand, importers in AUTHORISED_DISTRIBUTORS.items():
        lines = [i for i, ln in enumerate(LINES) if brand in ln.brands]
        for importer in map(_importer_index, importers):
            assert (table[importer, lines] < 0).all(), f"{importer}: one brand per line"
            table[importer, lines] = _BRAND[brand]
    return table


_AUTHORISED = _authorised_brands()


# --- random helpers -----------------------------------------------------------------------


def _draw(rng: np.random.Generator, cum: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the padded cumulative probabilities cum[rows]."""
    return (rng.random(len(rows))[:, None] >= cum[rows]).sum(axis=1)


def _uniform_pick(
    rng: np.random.Generator, table: np.ndarray, counts: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """A uniformly chosen entry of each row of a padded index table."""
    return table[rows, (rng.random(len(rows)) * counts[rows]).astype(np.int64)]


def _choice(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(weights, float)
    return rng.choice(len(p), size, p=p / p.sum())


def _text(values: Sequence[str | None], idx: np.ndarray) -> pl.Series:
    """values[idx] as a String column; an index of -1 gives null."""
    table = pl.Series(list(values) + [None], dtype=pl.String)
    return table.gather(np.where(idx < 0, len(values), idx))


def _money(cents: np.ndarray) -> pl.Series:
    return (pl.Series(cents.astype(np.int64)).cast(MONEY) / 100).cast(MONEY)


# --- the population: suppliers, importers -----------------------------------------------


@dataclass
class _Suppliers:
    name: list[str]
    country: np.ndarray
    origin: np.ndarray  # origin of the goods they sell (traders re-export Chinese goods)
    by_sector: list[np.ndarray]  # supplier indices of each sector, most popular first

    @property
    def ids(self) -> list[str]:
        return [f"SUP{i + 1:06d}" for i in range(len(self.name))]


def _unique_names(
    rng: np.random.Generator, words: tuple[tuple[str, ...], ...], n: int
) -> list[str]:
    """n distinct names, each one word of every tuple (empty words skipped)."""
    sizes = [len(w) for w in words]
    picks = np.unravel_index(rng.choice(np.prod(sizes), n, replace=False), sizes)
    return [
        " ".join(w[k] for w, k in zip(words, combo, strict=True) if w[k])
        for combo in zip(*picks, strict=True)
    ]


def _suppliers(rng: np.random.Generator) -> _Suppliers:
    counts = np.round(N_SUPPLIERS * _S_POPULARITY / _S_POPULARITY.sum()).astype(int)
    sector = np.repeat(np.arange(len(SECTORS)), counts)
    country = np.concatenate(
        [
            np.array([_COUNTRY[c] for c in s.origins])[_choice(rng, list(s.origins.values()), k)]
            for s, k in zip(SECTORS, counts, strict=True)
        ]
    )
    sells_chinese = np.array(["CN" in SECTORS[s].origins for s in sector])
    trader = sells_chinese & (
        rng.random(len(sector)) < np.where(country == _COUNTRY["AE"], 0.6, 0.05)
    )
    origin = np.where(trader, _COUNTRY["CN"], country)
    words = _unique_names(rng, _SUPPLIER_WORDS, len(sector))
    name = [
        f"{w} {COUNTRIES[COUNTRY_CODES[c]].legal_form}" for w, c in zip(words, country, strict=True)
    ]
    return _Suppliers(
        name, country, origin, [np.flatnonzero(sector == s) for s in range(len(SECTORS))]
    )


@dataclass
class _Importers:
    name: list[str]
    address: list[str]
    weight: np.ndarray  # relative volume of declarations
    first_day: np.ndarray  # first day of the period it may lodge
    fraud_rate: np.ndarray  # chance that one of its declarations is fraudulent
    modus: np.ndarray  # favourite fraud type of a risky importer, else -1
    ring: np.ndarray
    slot_supplier: np.ndarray  # (importer, lane) -> supplier, -1 pad
    slot_sector: np.ndarray
    slot_cum: np.ndarray  # cumulative share of its declarations per lane
    declarants: np.ndarray  # (importer, 2): main and occasional broker
    scale: np.ndarray  # consignment size
    price: np.ndarray  # price level it negotiates

    @property
    def ids(self) -> list[str]:
        return [f"IMP{i + 1:06d}" for i in range(len(self.name))]


def _addresses(rng: np.random.Generator, n: int) -> list[str]:
    cities = list(CITIES)
    city = _choice(rng, [CITIES[c][0] for c in cities], n)
    street = rng.integers(0, len(STREETS), n)
    number = rng.integers(1, 300, n)
    return [
        f"{k}, {STREETS[s]}, {CITIES[cities[c]][1]} {cities[c]}"
        for k, s, c in zip(number, street, city, strict=True)
    ]


def _supplier_pools(sup: _Suppliers) -> tuple[np.ndarray, np.ndarray]:
    """Suppliers of each sector (rows 0..), then those of each sector selling goods of
    non-preferential origin (rows len(SECTORS)..), with Zipf-like cumulative popularity."""
    pools = list(sup.by_sector)
    for members in sup.by_sector:
        fake_able = members[_C_AGREEMENT[sup.origin[members]] < 0]
        pools.append(fake_able if len(fake_able) else members)
    table, _ = _padded(pools)
    return table, _cumulative([1.0 / (np.arange(len(pool)) + 3.0) for pool in pools])


def _importers(rng: np.random.Generator, sup: _Suppliers, days: int) -> _Importers:
    n = N_IMPORTERS
    authorised = (_AUTHORISED >= 0).any(axis=1)
    # Brand distributors are established, sizeable firms: push them up the ranking.
    rank = np.argsort(np.argsort(rng.random(n) * np.where(authorised, 0.15, 1.0)))
    weight = (rank + 6.0) ** -1.1
    ring = np.zeros(n, bool)
    ring[rng.choice(np.flatnonzero(~authorised), RING_SIZE, replace=False)] = True
    risky = np.zeros(n, bool)
    candidates = np.flatnonzero(~authorised & ~ring & (rank >= 30))
    risky[rng.choice(candidates, round(RISKY_SHARE * n), replace=False)] = True
    weight[ring] = weight[~ring].sum() * RING_VOLUME / RING_SIZE

    new = ~authorised & (rng.random(n) < NEW_SHARE)
    first_day = np.where(new, rng.integers(0, max(1, days * 9 // 10), n), 0)
    first_day[ring] = rng.integers(days // 5, days * 3 // 5 + 1, RING_SIZE)
    fraud_rate = np.select([ring, risky], [RING_FRAUD, rng.uniform(0.3, 0.85, n)], BASE_FRAUD)
    modus = np.where(risky, _choice(rng, FRAUD_MIX, n), -1)

    # Sectors of trade: risky firms pick those where their favourite fraud works.
    brandable = np.array([any(LINES[i].brands for i in row if i >= 0) for row in _S_LINES])
    aliased = np.array([(_L_ALIAS[row[row >= 0]] >= 0).any() for row in _S_LINES])
    sector_p = {
        k: p / p.sum()
        for k, p in (
            (COUNTERFEIT, _S_POPULARITY * brandable),
            (CLASSIFICATION, _S_POPULARITY * aliased),
            (-1, _S_POPULARITY),
        )
    }
    ring_sectors = [_SECTOR["apparel"], _SECTOR["footwear"], _SECTOR["apparel"]]
    lane_sectors = []
    for i in range(n):
        n_sectors = 1 + int(rng.random() < 0.35) + int(rng.random() < 0.1)
        chosen = rng.choice(
            len(SECTORS), n_sectors, replace=False, p=sector_p.get(modus[i], sector_p[-1])
        )
        own = np.unique(_L_SECTOR[_AUTHORISED[i] >= 0])
        chosen = np.concatenate([own, chosen[~np.isin(chosen, own)]])
        wanted = 1 + rng.poisson(1 + 3 * weight[i] / weight.max())  # big firms, more lanes
        lanes = max(len(chosen), min(MAX_SLOTS, wanted))
        lane_sectors.append(ring_sectors if ring[i] else np.resize(chosen, lanes))

    # Lanes: (supplier, sector) pairs that recur; popular suppliers serve many importers.
    slot_sector, lanes = _padded(lane_sectors)
    used = slot_sector >= 0
    pools, pool_cum = _supplier_pools(sup)
    rows = (slot_sector + len(SECTORS) * ((modus == ORIGIN) | ring)[:, None])[used]
    slot_supplier = np.full(slot_sector.shape, -1)
    slot_supplier[used] = pools[rows, _draw(rng, pool_cum, rows)]
    slot_supplier[ring] = slot_supplier[np.argmax(ring)]  # the ring shares its suppliers
    share = np.cumsum(rng.standard_exponential(slot_sector.shape) * used, axis=1)
    slot_cum = np.where(used, share / share[np.arange(n), lanes - 1, None], 2.0)
    slot_cum[np.arange(n), lanes - 1] = 1.0

    declarant_cum = _cumulative([1.0 / (np.arange(N_DECLARANTS) + 2.0)])
    declarants = _draw(rng, declarant_cum, np.zeros(2 * n, int)).reshape(n, 2)
    declarants[ring] = rng.integers(0, N_DECLARANTS)
    address = _addresses(rng, n + 3 + 5)
    ring_addresses, domiciliations = address[n : n + 3], address[n + 3 :]
    for k, i in enumerate(np.flatnonzero(ring)):
        address[i] = ring_addresses[k % 3]
    # Business centres host many small legitimate firms: shared addresses are not proof.
    for i in rng.choice(np.flatnonzero(~ring & ~authorised), 40, replace=False):
        address[i] = domiciliations[rng.integers(0, len(domiciliations))]

    forms = rng.integers(0, len(_IMPORTER_FORMS), n)
    names = _unique_names(rng, _IMPORTER_WORDS, n)
    return _Importers(
        name=[f"{name} {_IMPORTER_FORMS[k]}" for name, k in zip(names, forms, strict=True)],
        address=address[:n],
        weight=weight,
        first_day=first_day,
        fraud_rate=fraud_rate,
        modus=modus,
        ring=ring,
        slot_supplier=slot_supplier,
        slot_sector=slot_sector,
        slot_cum=slot_cum,
        declarants=declarants,
        scale=rng.lognormal(0, 0.4, n) * (weight / np.median(weight)) ** 0.15,
        price=rng.lognormal(0, 0.12, n),
    )


# --- declarations and items -------------------------------------------------------------


def _season(rng: np.random.Generator, start: date, days: int) -> np.ndarray:
    """Cumulative share of the period's declarations lodged by the end of each day."""
    day = np.datetime64(start, "D") + np.arange(days)
    weekday = (day.astype(np.int64) + 3) % 7  # 0 is Monday: 1970-01-01 was a Thursday
    month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    lunar = (day - RAMADAN_1446).astype(np.int64) % LUNAR_YEAR
    weight = np.select([weekday == 6, weekday == 5], [0.05, 0.35], 1.0)
    weight *= np.select([lunar > LUNAR_YEAR - 35, lunar < 29.5], [1.35, 0.85], 1.0)
    weight *= np.select([month == 8, (month >= 5) & (month <= 7)], [0.6, 1.15], 1.0)
    weight *= rng.lognormal(0, 0.1, days)
    return np.cumsum(weight) / weight.sum()


def _declarations(
    rng: np.random.Generator, imp: _Importers, sup: _Suppliers, n: int, start: date, days: int
) -> dict[str, np.ndarray]:
    """One entry per declaration, in lodgement order."""
    season = _season(rng, start, days)
    before = np.concatenate([[0.0], season[:-1]])  # share lodged before each day
    importer = _choice(rng, imp.weight * (1 - before[imp.first_day]), n)
    floor = before[imp.first_day[importer]]
    day = np.searchsorted(season, floor + rng.random(n) * (1 - floor), side="right")
    hour = 7.5 + 11 * rng.beta(2.2, 3.0, n)
    seconds = np.minimum(day, days - 1) * 86_400 + (hour * 3600).astype(np.int64)
    order = np.argsort(seconds, kind="stable")
    importer, seconds = importer[order], seconds[order]

    lane = _draw(rng, imp.slot_cum, importer)
    sector = imp.slot_sector[importer, lane]
    supplier = imp.slot_supplier[importer, lane]
    air = rng.random(n) < _S_AIR[sector]
    road = ~air & ~_S_BULK[sector] & (rng.random(n) < _C_ROAD[sup.country[supplier]])
    mode = np.select([air, road], [2, 1], 0)
    procedure = _choice(rng, list(PROCEDURES.values()), n)
    inward_processing = (_S_USE[sector] == "IND") & (rng.random(n) < 0.1)
    return {
        "seconds": seconds,
        "importer": importer,
        "supplier": supplier,
        "sector": sector,
        "mode": mode,
        "courier": np.where(air & (rng.random(n) < 0.45), rng.integers(0, len(COURIERS), n), -1),
        "office": _draw(rng, _OFFICE_CUM, mode),
        "procedure": np.where(inward_processing, list(PROCEDURES).index("5100"), procedure),
        "declarant": imp.declarants[importer, (rng.random(n) < 0.15).astype(int)],
        "items": 1 + _choice(rng, (55, 25, 10, 6, 4), n),
        "pre_lodged": rng.random(n) < 0.14,  # lodged before the goods arrive
    }


def _quantity(line: np.ndarray, net_kg: np.ndarray) -> np.ndarray:
    """Tariff quantity in the line's unit for a net mass."""
    per_unit = net_kg / _L_KG_PER_UNIT[line]
    unit = _L_UNIT[line]
    return np.select(
        [unit == _UNITS.index("U"), unit == _UNITS.index("L")],
        [np.maximum(1.0, np.rint(per_unit)), np.round(per_unit, 1)],
        net_kg,
    )


def _duty_rate(line: np.ndarray, preference: np.ndarray) -> np.ndarray:
    return np.where(preference, _L_PREFERENTIAL[line], _L_MFN[line])


def _burden(line: np.ndarray, preference: np.ndarray) -> np.ndarray:
    """Duties and taxes per unit of customs value."""
    return (1 + _duty_rate(line, preference) / 100) * (1 + _L_VAT[line] / 100)


def _items(
    rng: np.random.Generator, imp: _Importers, sup: _Suppliers, decl: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The true goods of each item; the declared copies (``declared_*``) start equal."""
    owner = np.repeat(np.arange(len(decl["items"])), decl["items"])
    m = len(owner)
    importer = decl["importer"][owner]
    line = _S_LINES[decl["sector"][owner], _draw(rng, _S_LINE_CUM, decl["sector"][owner])]
    origin = sup.origin[decl["supplier"][owner]]
    claims = rng.random(len(decl["items"])) < 0.85
    preference = (_C_AGREEMENT[origin] >= 0) & claims[owner]

    authorised = _AUTHORISED[importer, line]
    parallel = _uniform_pick(rng, _L_BRANDS, _L_BRAND_COUNT, line)  # -1 on unbranded lines
    brand = np.where(
        (authorised >= 0) & (rng.random(m) < 0.85),
        authorised,
        np.where(rng.random(m) < 0.025, parallel, -1),
    )

    mode = decl["mode"][owner]
    courier = decl["courier"][owner] >= 0
    target = (
        _L_TYPICAL_KG[line]
        * imp.scale[importer]
        * np.asarray(MODE_SCALE)[mode]
        * np.where(courier, 0.1, 1.0)
        * rng.lognormal(0, 0.6, m)
    )
    target = np.clip(target, 0.2, np.asarray(MODE_CAP_KG)[mode])
    pieces = np.maximum(1.0, np.rint(target / _L_KG_PER_UNIT[line]))
    counted = _L_UNIT[line] == _UNITS.index("U")
    noise = rng.uniform(0.96, 1.04, m)
    net = np.round(np.where(counted, pieces * _L_KG_PER_UNIT[line] * noise, target), 2)
    quantity = np.where(counted, pieces, _quantity(line, net))
    gross = np.round(net * rng.uniform(1.03, 1.2, m), 2)

    usd_per_kg = (
        _L_USD_PER_KG[line] * _C_PRICE[origin] * imp.price[importer] * rng.lognormal(0, 0.25, m)
    )
    generic = np.maximum(net * usd_per_kg * EXCHANGE_RATES["USD"], 300.0)  # MAD, unbranded
    value = generic * np.where(brand >= 0, _B_PREMIUM[np.maximum(brand, 0)], 1.0)
    brand_mentioned = (brand >= 0) & (rng.random(m) < 0.4)
    declared = {
        "line": line,
        "origin": origin,
        "preference": preference,
        "brand": brand,
        "net": net,
        "gross": gross,
        "quantity": quantity,
        "value": value,
    }
    return {
        "owner": owner,
        "starts": np.concatenate([[0], np.cumsum(decl["items"])[:-1]]),
        "importer": importer,
        "generic": generic,
        "mentioned": np.where(brand_mentioned, brand, -1),  # brand written in the description
        "suffix": rng.integers(0, len(SUFFIXES), m),
        "kind": np.full(m, -1),
        **{f"true_{k}": v for k, v in declared.items()},
        **{f"declared_{k}": v.copy() for k, v in declared.items()},
    }


# --- planted fraud ----------------------------------------------------------------------


def _choose(
    rng: np.random.Generator,
    item: dict[str, np.ndarray],
    candidates: np.ndarray,
    spread: np.ndarray,
) -> np.ndarray:
    """One random candidate item per declaration, plus each other one with chance spread."""
    key = np.where(candidates, rng.random(len(candidates)), -1.0)
    best = np.maximum.reduceat(key, item["starts"])[item["owner"]]
    return candidates & ((key == best) | (rng.random(len(candidates)) < spread))


def _other_brand(rng: np.random.Generator, line: np.ndarray, importer: np.ndarray) -> np.ndarray:
    """A brand of the line that the importer is not authorised for, or -1 if none."""
    own = _AUTHORISED[importer, line]
    choices = _L_BRAND_COUNT[line] - (own >= 0)
    k = (rng.random(len(line)) * choices).astype(np.int64)
    k += (own >= 0) & (k >= np.argmax(_L_BRANDS[line] == own[:, None], axis=1))
    return np.where(choices > 0, _L_BRANDS[line, np.minimum(k, _L_BRANDS.shape[1] - 1)], -1)


def _eligible(item: dict[str, np.ndarray]) -> np.ndarray:
    """(fraud type, item) -> can this item carry that fraud with duties or taxes evaded."""
    line, preference = item["true_line"], item["true_preference"]
    alias = np.maximum(_L_ALIAS[line], 0)
    everything = np.ones(len(line), bool)
    return np.stack(
        [
            everything,
            (_L_ALIAS[line] >= 0) & (_burden(alias, preference) < _burden(line, preference)),
            (_C_AGREEMENT[item["true_origin"]] < 0) & (_L_MFN[line] > _L_PREFERENTIAL[line]),
            _L_BRAND_COUNT[line] > (_AUTHORISED[item["importer"], line] >= 0),
            everything,
        ]
    )


def _plant_fraud(
    rng: np.random.Generator,
    imp: _Importers,
    sup: _Suppliers,
    decl: dict[str, np.ndarray],
    item: dict[str, np.ndarray],
) -> None:
    n, owner = len(decl["items"]), item["owner"]
    importer = decl["importer"]
    eligible = _eligible(item)
    fits = np.logical_or.reduceat(eligible, item["starts"], axis=1).T  # (declaration, type)
    # Each fraudulent declaration gets a type its goods can carry (valuation always can).
    mix = np.where(imp.ring[importer, None], RING_MIX, FRAUD_MIX) * fits
    kind = _draw(rng, np.cumsum(mix, axis=1) / mix.sum(axis=1, keepdims=True), np.arange(n))
    modus = imp.modus[importer]
    favourite = (modus >= 0) & fits[np.arange(n), modus] & (rng.random(n) < 0.7)
    kind = np.where(favourite, modus, kind)
    kind = np.where(rng.random(n) < imp.fraud_rate[importer], kind, -1)

    item_kind = kind[owner]
    candidates = (item_kind >= 0) & eligible[np.maximum(item_kind, 0), np.arange(len(owner))]
    spread = np.asarray(FRAUD_SPREAD)[np.maximum(item_kind, 0)]
    item["kind"] = np.where(_choose(rng, item, candidates, spread), item_kind, -1)

    _undervalue(rng, item, item["kind"] == VALUATION)
    _misclassify(item, item["kind"] == CLASSIFICATION)
    _fake_origin(rng, sup, decl, item, item["kind"] == ORIGIN)
    _counterfeit(rng, item, item["kind"] == COUNTERFEIT)
    _understate(rng, decl, item, item["kind"] == QUANTITY)


def _undervalue(rng: np.random.Generator, item: dict[str, np.ndarray], mask: np.ndarray) -> None:
    item["declared_value"][mask] /= rng.uniform(2.5, 10.0, mask.sum())


def _misclassify(item: dict[str, np.ndarray], mask: np.ndarray) -> None:
    line = item["true_line"][mask]
    alias = _L_ALIAS[line]
    item["declared_line"][mask] = alias
    item["declared_quantity"][mask] = np.where(
        _L_UNIT[alias] == _L_UNIT[line],
        item["true_quantity"][mask],
        _quantity(alias, item["true_net"][mask]),
    )


def _fake_origin(
    rng: np.random.Generator,
    sup: _Suppliers,
    decl: dict[str, np.ndarray],
    item: dict[str, np.ndarray],
    mask: np.ndarray,
) -> None:
    n = len(decl["items"])
    cover = np.array([_COUNTRY[c] for c in ORIGIN_COVERS])[
        _choice(rng, list(ORIGIN_COVERS.values()), n)
    ]
    item["declared_origin"][mask] = cover[item["owner"][mask]]
    item["declared_preference"][mask] = True
    # A quarter hide the route too: invoiced and shipped by a firm of the cover country.
    faked = np.zeros(n, bool)
    faked[item["owner"][mask]] = True
    laundered = faked & (rng.random(n) < 0.25)
    for country in np.unique(cover[laundered]):
        firms = np.flatnonzero(sup.country == country)
        here = laundered & (cover == country)
        decl["supplier"][here] = firms[rng.integers(0, len(firms), here.sum())]


def _counterfeit(rng: np.random.Generator, item: dict[str, np.ndarray], mask: np.ndarray) -> None:
    brand = _other_brand(rng, item["true_line"][mask], item["importer"][mask])
    generic = item["generic"][mask]
    item["true_brand"][mask] = brand
    item["true_value"][mask] = generic * _B_PREMIUM[brand]  # what genuine goods would be worth
    item["declared_value"][mask] = generic * rng.uniform(0.25, 0.6, mask.sum())
    in_field = rng.random(mask.sum()) < 0.6
    item["declared_brand"][mask] = np.where(in_field, brand, -1)
    mentioned = ~in_field | (rng.random(mask.sum()) < 0.3)
    item["mentioned"][mask] = np.where(mentioned, brand, -1)


def _understate(
    rng: np.random.Generator,
    decl: dict[str, np.ndarray],
    item: dict[str, np.ndarray],
    mask: np.ndarray,
) -> None:
    keep = (1 - rng.uniform(0.3, 0.7, len(decl["items"])))[item["owner"][mask]]
    line = item["true_line"][mask]
    net = np.maximum(np.round(item["true_net"][mask] * keep, 2), 0.01)
    item["declared_net"][mask] = net
    item["declared_gross"][mask] = np.maximum(np.round(item["true_gross"][mask] * keep, 2), 0.01)
    item["declared_quantity"][mask] = np.where(
        _L_UNIT[line] == _UNITS.index("U"),
        np.maximum(1.0, np.rint(item["true_quantity"][mask] * keep)),
        _quantity(line, net),
    )
    item["declared_value"][mask] *= keep


# --- money, route and frames ------------------------------------------------------------


class _Assessment(NamedTuple):  # in hundredths of the national currency
    invoice: np.ndarray
    customs_value: np.ndarray
    duty: np.ndarray
    tax: np.ndarray


def _assess(
    value_mad: np.ndarray, rate: np.ndarray, line: np.ndarray, preference: np.ndarray
) -> _Assessment:
    invoice = np.rint(value_mad / rate * 100)
    customs_value = np.rint(invoice * rate)  # the invoice is taken as CIF
    duty = np.rint(customs_value * _duty_rate(line, preference) / 100)
    tax = np.rint((customs_value + duty) * _L_VAT[line] / 100)
    return _Assessment(invoice, customs_value, duty, tax)


def _route(rng: np.random.Generator, sup: _Suppliers, decl: dict[str, np.ndarray]) -> None:
    """Export country, loading place and invoice currency, from the (final) supplier."""
    n = len(decl["items"])
    country = sup.country[decl["supplier"]]
    hub = np.array([_COUNTRY[c] for c in TRANSIT_HUBS])[rng.integers(0, len(TRANSIT_HUBS), n)]
    decl["export"] = np.where(rng.random(n) < 0.04, hub, country)
    decl["loading"] = _uniform_pick(rng, _C_PORTS, _C_PORT_COUNT, decl["export"])
    decl["currency"] = _C_CURRENCY[country, _draw(rng, _C_CURRENCY_CUM, country)]


def _header(
    rng: np.random.Generator,
    imp: _Importers,
    sup: _Suppliers,
    decl: dict[str, np.ndarray],
    start: date,
) -> pl.DataFrame:
    n = len(decl["items"])
    lodged = np.datetime64(start, "s") + decl["seconds"]
    year = lodged.astype("datetime64[Y]").astype(np.int64) + 1970
    number = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(7)
    declaration_id = pl.concat_str(
        [pl.lit("D"), pl.Series(year).cast(pl.String), pl.lit("-"), number]
    )
    suspended = np.array(list(PROCEDURES))[decl["procedure"]] != "4000"  # duties guaranteed
    payment = np.where(suspended, 3, _choice(rng, (60, 30, 10), n))
    clearance = np.where(decl["pre_lodged"], 1, np.where(rng.random(n) < 0.09, 2, 0))
    return pl.DataFrame(
        {
            "declaration_id": pl.select(declaration_id).to_series(),
            "lodged_at": pl.Series(lodged.astype("datetime64[us]")),
            "office": _text(_OFFICES, decl["office"]),
            "procedure": _text(list(PROCEDURES), decl["procedure"]),
            "declaration_type": pl.repeat("IM", n, eager=True),
            "clearance_type": _text(["A", "D", "C"], clearance),
            "goods_use": _text(
                ["OWN", *_S_USE], np.where(rng.random(n) < 0.03, 0, decl["sector"] + 1)
            ),
            "payment_method": _text(["H", "E", "A", "G"], payment),
            "declarant_id": _text(
                [f"DCL{i + 1:04d}" for i in range(N_DECLARANTS)], decl["declarant"]
            ),
            "importer_id": _text(imp.ids, decl["importer"]),
            "importer_name": _text(imp.name, decl["importer"]),
            "importer_address": _text(imp.address, decl["importer"]),
            "supplier_id": _text(sup.ids, decl["supplier"]),
            "supplier_name": _text(sup.name, decl["supplier"]),
            "supplier_country": _text(COUNTRY_CODES, sup.country[decl["supplier"]]),
            "courier_id": _text(COURIERS, decl["courier"]),
            "export_country": _text(COUNTRY_CODES, decl["export"]),
            "transport_mode": _text(MODES, decl["mode"]),
            "loading_place": _text(_PORTS, decl["loading"]),
        }
    )


def _description(item: dict[str, np.ndarray]) -> pl.Series:
    """The true goods' description: misclassified goods keep it, betraying the code."""
    words = pl.DataFrame(
        {
            "goods": _text([ln.description for ln in LINES], item["true_line"]),
            "suffix": _text(SUFFIXES, item["suffix"]),
            "brand": _text(_BRANDS, item["mentioned"]).str.to_uppercase(),
        }
    )
    return words.select(
        pl.concat_str(["goods", "suffix", pl.lit(" MARQUE ") + pl.col("brand")], ignore_nulls=True)
    ).to_series()


def _items_frame(
    imp: _Importers, decl: dict[str, np.ndarray], item: dict[str, np.ndarray], header: pl.DataFrame
) -> pl.DataFrame:
    owner = item["owner"]
    line, origin = item["declared_line"], item["declared_origin"]
    preference = item["declared_preference"]
    rate = _RATES[decl["currency"][owner]]
    declared = _assess(item["declared_value"], rate, line, preference)
    true = _assess(item["true_value"], rate, item["true_line"], item["true_preference"])
    fraud = item["kind"] >= 0
    revenue = np.where(fraud, true.duty + true.tax - declared.duty - declared.tax, 0)
    items = pl.DataFrame(
        {
            "item_number": pl.Series(
                np.arange(len(owner)) - item["starts"][owner] + 1, dtype=pl.Int32
            ),
            "hs_code": _text([ln.hs_code for ln in LINES], line),
            "description": _description(item),
            "brand": _text(_BRANDS, item["declared_brand"]),
            "origin_country": _text(COUNTRY_CODES, origin),
            "origin_proof": _text(_PROOFS, np.where(preference, _C_AGREEMENT[origin], -1)),
            "preference_code": _text(_AGREEMENTS, np.where(preference, _C_AGREEMENT[origin], -1)),
            "quantity": item["declared_quantity"],
            "quantity_unit": _text(_UNITS, _L_UNIT[line]),
            "gross_mass_kg": item["declared_gross"],
            "net_mass_kg": item["declared_net"],
            "invoice_amount": _money(declared.invoice),
            "invoice_currency": _text(_CURRENCIES, decl["currency"][owner]),
            "customs_value": _money(declared.customs_value),
            "duty_rate": _duty_rate(line, preference),
            "vat_rate": _L_VAT[line],
            "duty_amount": _money(declared.duty),
            "tax_amount": _money(declared.tax),
            "fraud": fraud,
            "fraud_type": _text(FRAUD_TYPES, item["kind"]),
            "revenue_at_stake": _money(revenue),
            "ring_member": imp.ring[item["importer"]],
        }
    )
    frame = pl.concat([header[owner], items], how="horizontal")
    return frame.select([f.name for f in FIELDS] + list(GROUND_TRUTH))


# --- public API ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Synthetic:
    """Flat items (one row per item, header repeated) with ground truth, and the other
    sources seen by a targeting centre (see ``tamis.intel.synthetic``)."""

    items: pl.DataFrame
    manifests: pl.DataFrame
    payments: pl.DataFrame
    trademarks: pl.DataFrame
    tax_returns: pl.DataFrame

    SOURCES = ("manifests", "payments", "trademarks", "tax_returns")


def generate(
    declarations: int, seed: int, start: date = date(2025, 1, 1), days: int = 365
) -> Synthetic:
    """A period of import declarations with planted, labelled fraud; same seed, same frames."""
    # The other sources are drawn from this module's population: imported here, not above.
    from tamis.synth.sources import World, sources

    if declarations < 1 or days < 1:
        raise ValueError(f"declarations and days must be >= 1, got {declarations} and {days}")
    rng = np.random.default_rng(seed)
    sup = _suppliers(rng)
    imp = _importers(rng, sup, days)
    decl = _declarations(rng, imp, sup, declarations, start, days)
    item = _items(rng, imp, sup, decl)
    _plant_fraud(rng, imp, sup, decl, item)
    _route(rng, sup, decl)
    header = _header(rng, imp, sup, decl, start)
    items = _items_frame(imp, decl, item, header)
    world = World(imp, sup, decl, item, items, header, start, days)
    return Synthetic(items, **sources(world, seed))


_WRITERS = {
    ".parquet": pl.DataFrame.write_parquet,
    ".csv": pl.DataFrame.write_csv,
    ".jsonl": pl.DataFrame.write_ndjson,
}


def write(synthetic: Synthetic, out: Path) -> dict[str, Path]:
    """Items to ``out`` and each other source to ``<stem>.<source><suffix>`` beside it."""
    out = Path(out)
    writer = _WRITERS.get(out.suffix.lower())
    if writer is None:
        raise ValueError(f"{out}: the extension must be one of {', '.join(_WRITERS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = {"items": out}
    writer(synthetic.items, out)
    for name in Synthetic.SOURCES:
        paths[name] = out.with_name(f"{out.stem}.{name}{out.suffix}")
        writer(getattr(synthetic, name), paths[name])
    return paths
