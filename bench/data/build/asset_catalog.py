"""What the shipped assets are made of: the handwriting fonts, stroke sets and Hershey faces by
look-alike group, where each comes from, and where the build reads and writes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
LEXICON = Path(__file__).resolve().parents[1] / "lexicon.csv"
SRC_CACHE = Path.home() / ".cache" / "xscript-bench" / "asset-src"
SIZE_LIMIT_MB = 40.0
SUBSET_CACHE = True  # keep merged subsets under SRC_CACHE/subsets (rebuilds take seconds, not minutes)

# Latin handwriting fonts (npm @fontsource, 5.3.x), grouped by look: the split keeps a group's
# balance between train and ood.
LATIN_PRINT = (
    "architects-daughter caveat caveat-brush covered-by-your-grace delicious-handrawn "
    "gloria-hallelujah gochi-hand handlee indie-flower kalam mansalva neucha patrick-hand "
    "reenie-beanie schoolbell shadows-into-light short-stack "
    "sue-ellen-francisco swanky-and-moo-moo the-girl-next-door annie-use-your-telescope itim "
    "sriracha chilanka twinkle-star playpen-sans shantell-sans finger-paint comic-neue mouse-memoirs "
    # added from the Google Fonts handwriting category (fontsource), each checked for ink on every
    # needed letter and looked at: casual print hands
    "amita charm coming-soon crafty-girls dekko delius delius-swash-caps edu-au-vic-wa-nt-hand "
    "edu-au-vic-wa-nt-pre edu-nsw-act-hand-pre edu-qld-hand edu-sa-hand edu-vic-wa-nt-hand felipa "
    "fuzzy-bubbles give-you-glory grape-nuts grechen-fuemen just-another-hand just-me-again-down-here "
    "kavivanar loved-by-the-king mali merienda mynerve nerko-one nothing-you-could-do over-the-rainbow "
    "pangolin playwrite-de-grund rancho redressed romanesco sedgwick-ave shadows-into-light-two solitreo "
    "square-peg sunshiney waiting-for-the-sunrise zeyada"
).split()
# Hands that write in capitals (or small capitals): real forms and notes are often filled in this way.
LATIN_CAPS = (
    "permanent-marker rock-salt amatic-sc delius-unicase patrick-hand-sc sedgwick-ave-display walter-turncoat"
).split()
LATIN_CURSIVE = (
    "dancing-script bad-script cedarville-cursive homemade-apple marck-script satisfy courgette "
    "damion cookie condiment grand-hotel yellowtail pacifico kaushan-script sacramento allura "
    "alex-brush great-vibes parisienne pinyon-script herr-von-muellerhoff mr-de-haviland "
    "monsieur-la-doulaise ms-madi oooh-baby whisper licorice italianno tangerine rochester ephesis "
    "birthstone corinthia montecarlo smooch vibur "
    # added (see LATIN_PRINT): joined and script hands; of the many regional Playwrite variants
    # (one design) only a few
    "aguafina-script allison arizonia babylonica beth-ellen bilbo bilbo-swash-caps birthstone-bounce "
    "bonheur-royale borel calligraffitti caramel carattere charmonman clicker-script comforter "
    "comforter-brush dawning-of-a-new-day dr-sugiyama edu-nsw-act-cursive engagement estonia festive "
    "fuggles grey-qo gwendolyn hurricane imperial-script ingrid-darling inspiration island-moments "
    "kapakana kolker-brush kristi la-belle-aurore leckerli-one love-light lovers-quarrel luxurious-script "
    "mea-culpa meddon meie-script meow-script molle montez moon-dance mr-bedfort mr-dafoe "
    "mrs-saint-delafield my-soul niconne norican passions-conflict petit-formal-script playwrite-es "
    "playwrite-us-trad playwrite-fr-moderne playwrite-it-moderna playwrite-nl playwrite-mx "
    "playwrite-dk-loopet princess-sofia puppies-play qwigley qwitcher-grypen ruge-boogie ruthie "
    "sassy-frass send-flowers sofia stalemate style-script the-nautigal updock vujahday-script "
    "water-brush waterfall windsong yesteryear"
).split()


@dataclass(frozen=True)
class DebFont:
    """A Chinese font taken from a Debian package."""

    id: str
    package: str
    file: str  # path inside the package
    index: int  # face index inside a .ttc
    group: str  # look-alike family: fonts of one group stay on one side of the split
    license: str


ZH_DEB = (
    DebFont("lxgw-wenkai", "fonts-lxgw-wenkai", "usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", 0, "wenkai", "OFL-1.1"),
    DebFont("ukai", "fonts-arphic-ukai", "usr/share/fonts/truetype/arphic/ukai.ttc", 0, "arphic-kai", "Arphic-1999"),
    DebFont("gkai00mp", "fonts-arphic-gkai00mp", "usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", 0, "arphic-kai", "Arphic-1999"),
    DebFont("tw-kai", "fonts-cns11643-kai", "usr/share/fonts/truetype/cns11643/TW-Kai-98_1.ttf", 0, "arphic-kai", "OGDL-TW-1.0"),
    # A standard (print) face: not a writer itself, only a skeleton source for pen writers.
    DebFont("wqy-microhei", "fonts-wqy-microhei", "usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "standard-sans",
            "Apache-2.0 OR GPL-3.0-with-font-exception"),
)
# Chinese fonts that are skeleton sources only (no font writer of their own).
ZH_SKELETON_ONLY = ("wqy-microhei",)
# Chinese fonts from npm @fontsource: id -> look-alike group.
ZH_NPM = {"ma-shan-zheng": "brush-kai", "long-cang": "running", "zcool-kuaile": "marker",
          "zhi-mang-xing": "running-brush", "liu-jian-mao-cao": "grass"}
# Training-only Chinese writers (``bench.data.build.train_fonts``, into ``TRAIN_ASSETS_DIR``): Japanese
# handwriting and brush families from npm @fontsource whose kanji draw about two thirds of the
# lexicon's characters and half of its words. No split uses them (so the built benchmark does not
# depend on them); a training config mixes them in (``SourceConfig.train_fonts``) for words they can
# draw. id -> look; no look may be an out-of-domain Chinese group (builtin.ZH_OOD_FONT_GROUPS).
ZH_TRAIN_ONLY_NPM = {
    "yuji-syuku": "jp-brush", "yuji-boku": "jp-brush", "yuji-mai": "jp-brush", "potta-one": "jp-brush-pop",
    "klee-one": "jp-pencil", "iansui": "jp-pencil",  # Iansui is derived from Klee One: one look
    "yomogi": "jp-pen", "zen-kurenaido": "jp-felt",
}
# Reachable and left out: their looks are those of the out-of-domain marker hand (ZCOOL KuaiLe), and
# the split keeps a look on one side.
ZH_TRAIN_ONLY_LEFT_OUT = {"yusei-magic": "marker hand", "hachi-maru-pop": "rounded, playful marker-like hand"}
TRAIN_ASSETS_DIR = ASSETS_DIR.parent / "train_assets"
# Chinese fonts whose glyphs are thinned into pen skeletons (``bench.data.build.skeletons``): each
# becomes a stroke source of its own, on the same side of the split as the font's look-alike group.
ZH_SKELETONS = ("lxgw-wenkai", "ma-shan-zheng", "zhi-mang-xing", "wqy-microhei", "long-cang", "liu-jian-mao-cao")

# Single-line SVG fonts from hersheytext, usable as pen skeletons for Latin: id -> (file, group).
# Left out: EMS Nixish (typewriter-like), Hershey Serif and Gothic (not handwriting).
HERSHEY = {
    "ems-allure": ("EMSAllure.svg", "script"),
    "ems-felix": ("EMSFelix.svg", "italic-print"),
    "ems-elfin": ("EMSElfin.svg", "print"),
    "ems-readability": ("EMSReadability.svg", "print"),
    "ems-readability-italic": ("EMSReadabilityItalic.svg", "italic-print"),
    "ems-tech": ("EMSTech.svg", "print"),
    "ems-osmotron": ("EMSOsmotron.svg", "print"),
    "hershey-script-1": ("HersheyScript1.svg", "script"),
    "hershey-script-med": ("HersheyScriptMed.svg", "script"),
    "hershey-sans-1": ("HersheySans1.svg", "print"),
    "hershey-sans-med": ("HersheySansMed.svg", "print"),
}

# Characters every Latin font and Hershey skeleton must carry beyond the lexicon's own.
LATIN_EXTRA = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "áéíóúüñÁÉÍÓÚÜÑ¿¡?! -'.,;:()\""
)
