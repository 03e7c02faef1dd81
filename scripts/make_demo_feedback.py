"""Build the demo survey responses and store owners shipped in ``clvlab.datasets``.

Usage: ``python scripts/make_demo_feedback.py [--text-dir ../shared/data/text] [--out DIR]``

Seeded and reproducible (same inputs, same bytes).  Writes ``demo_feedback.csv.gz`` (~6,000
responses of CDNOW customers) and ``demo_owners.csv`` into ``src/clvlab/datasets/files``.

How the data are made:

* a response follows a random purchase of the CDNOW master log (so frequent buyers answer
  more), 1-20 days later, clipped to 1997-01-01..1998-06-30;
* its sentiment class depends on the customer's number of purchase days (more purchases, more
  likely positive), so the CLV-NPS link in the demo is real;
* 70 % carry a real comment of that sentiment: Chinese e-commerce reviews (SophonPlus
  ``online_shopping_10_cats``, positive/negative) or English customer tweets ("Twitter US
  Airline Sentiment", positive/neutral/negative; @handles and links removed), about half each;
  the source is kept in ``comment_source`` and the corpus label in ``comment_label``;
* the score follows the class: NPS positive mostly 9-10, neutral 7-8, negative 0-6; CSAT 4-5 /
  3 / 1-2; CES (7 = very easy) 6-7 / 4-5 / 1-3, each with some noise;
* a few comments get a fake phone number, e-mail or ID number (example values) so that the
  loader's masking shows; every real comment with personal data is masked here first.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

import clvlab.datasets as ds
from clvlab.text.clean import mask_pii

ROOT = Path(__file__).resolve().parents[1]
N = 6000
SEED = 20240601
START, END = pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30")
STORES = [f"S{i:02d}" for i in range(1, 13)]
CHANNELS = (["web", "app", "wechat", "sms", "email"], [0.3, 0.25, 0.25, 0.1, 0.1])
TOUCHPOINTS = ["delivery", "checkout", "customer_service", "product", "returns", "website"]
TP_WEIGHTS = [0.25, 0.12, 0.18, 0.3, 0.07, 0.08]
ZH_CATS = ["书籍", "平板", "手机", "水果", "洗发水", "热水器", "蒙牛", "衣服", "计算机"]
ZH_TOUCH = [("物流|快递|送货|发货|到货|配送", "delivery"), ("客服|售后|服务态度", "customer_service"),
            ("退货|退款|换货|退换", "returns"), ("付款|支付|下单|订单", "checkout"),
            ("网站|页面|网页", "website")]
EN_TOUCH = {"Late Flight": "delivery", "Cancelled Flight": "delivery",
            "Customer Service Issue": "customer_service", "Lost Luggage": "returns",
            "Damaged Luggage": "product", "Flight Booking Problems": "checkout",
            "Bad Flight": "product", "Flight Attendant Complaints": "customer_service",
            "longlines": "checkout"}
FAKE_PII = [
    "有问题请打我电话 138-0013-8000", "Please call me back on +86 139 1234 5678",
    "my email is jane.doe@example.com, nobody replied", "退款请联系 wang.fang@example.cn",
    "身份证号 11010519491231002X 已经提交了", "call me at (415) 555-2671 please",
    "座机 010-62345678，下午在", "card 4111 1111 1111 1111 was charged twice",
]
OWNERS = [("O01", "王芳", ["S01", "S02"]), ("O02", "Emily Carter", ["S03"]),
          ("O03", "李伟", ["S04"]), ("O04", "James Wilson", ["S05", "S06"]),
          ("O05", "张敏", ["S07"]), ("O06", "Sophia Nguyen", ["S08"]), ("O07", "刘洋", ["S09"]),
          ("O08", "Daniel Kim", ["S10"]), ("O09", "陈静", ["S11"]), ("O10", "Olivia Brown", ["S12"])]


def _zh(text_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(text_dir / "online_shopping_10_cats.csv", dtype=str).dropna()
    df = df[df["cat"].isin(ZH_CATS)]
    df["text"] = df["review"].str.replace("\ufeff", "", regex=False).str.strip()
    df = df[df["text"].str.len().between(8, 160)].drop_duplicates("text")
    df["label"] = np.where(df["label"] == "1", "positive", "negative")
    df["source"] = "online_shopping_10_cats"
    return df[["text", "label", "source"]].assign(reason="")


def _en(text_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(text_dir / "twitter_us_airline_sentiment.csv", dtype=str)
    t = df["text"].str.replace(r"^(?:\s*@\w+)+", "", regex=True)
    t = t.str.replace(r"@\w+", "@user", regex=True).str.replace(r"https?://\S+", "", regex=True)
    df["text"] = t.str.replace(r"\s+", " ", regex=True).str.strip()
    df = df[df["text"].str.len() >= 15].drop_duplicates("text")
    out = pd.DataFrame({"text": df["text"], "label": df["airline_sentiment"],
                        "source": "twitter_us_airline_sentiment",
                        "reason": df["negativereason"].fillna("")})
    return out


def _score(metric: str, cls: str, rng: np.random.Generator) -> int:
    table = {  # (values, probabilities) per metric and class
        ("nps", "positive"): ([10, 9, 8, 7], [0.5, 0.35, 0.1, 0.05]),
        ("nps", "neutral"): ([9, 8, 7, 6, 5], [0.1, 0.35, 0.35, 0.12, 0.08]),
        ("nps", "negative"): ([0, 1, 2, 3, 4, 5, 6, 7, 8],
                              [0.12, 0.08, 0.1, 0.12, 0.12, 0.14, 0.2, 0.08, 0.04]),
        ("csat", "positive"): ([5, 4, 3], [0.6, 0.33, 0.07]),
        ("csat", "neutral"): ([4, 3, 2], [0.3, 0.55, 0.15]),
        ("csat", "negative"): ([1, 2, 3], [0.5, 0.38, 0.12]),
        ("ces", "positive"): ([7, 6, 5], [0.55, 0.35, 0.1]),
        ("ces", "neutral"): ([6, 5, 4, 3], [0.15, 0.35, 0.35, 0.15]),
        ("ces", "negative"): ([1, 2, 3, 4], [0.3, 0.3, 0.28, 0.12]),
    }
    values, p = table[(metric, cls)]
    return int(rng.choice(values, p=p))


def _touchpoint(text: str, source: str, reason: str, rng: np.random.Generator) -> str:
    if source.startswith("twitter") and reason in EN_TOUCH:
        return EN_TOUCH[reason]
    for pattern, tp in ZH_TOUCH:
        if re.search(pattern, text):
            return tp
    return str(rng.choice(TOUCHPOINTS, p=TP_WEIGHTS))


def build(text_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo feedback and owners tables."""
    rng = np.random.default_rng(SEED)
    tx = ds.load_cdnow("master")
    days = tx.groupby("customer_id")["ordered_at"].nunique()
    store_of = {c: STORES[int(c) % 12] for c in days.index}
    picks = tx.iloc[rng.choice(len(tx), size=N, replace=True)].reset_index(drop=True)
    when = picks["ordered_at"] + pd.to_timedelta(rng.integers(1, 21, N), unit="D")
    when = when + pd.to_timedelta(rng.integers(8 * 3600, 22 * 3600, N), unit="s")
    when = when.where(when >= START, START).where(when <= END + pd.Timedelta(hours=23),
                                                  END + pd.Timedelta(hours=23))
    n_days = picks["customer_id"].map(days).to_numpy()
    z = -0.35 + 0.55 * np.log(n_days)  # more purchase days, more positive
    p_pos = 1 / (1 + np.exp(-z))
    u = rng.random(N)
    cls = np.where(u < p_pos * 0.85, "positive",
                   np.where(u < p_pos * 0.85 + 0.2, "neutral", "negative"))
    metric = rng.choice(["nps", "csat", "ces"], size=N, p=[0.6, 0.25, 0.15])
    has_comment = rng.random(N) < 0.7
    zh, en = _zh(text_dir), _en(text_dir)
    pools = {("zh", lab): zh[zh.label == lab].sample(frac=1, random_state=SEED).to_numpy()
             for lab in ("positive", "negative")}
    pools |= {("en", lab): en[en.label == lab].sample(frac=1, random_state=SEED).to_numpy()
              for lab in ("positive", "neutral", "negative")}
    used = dict.fromkeys(pools, 0)
    rows = []
    for i in range(N):
        c = str(cls[i])
        text = label = source = ""
        tp = str(rng.choice(TOUCHPOINTS, p=TP_WEIGHTS))
        if has_comment[i]:
            lang = "en" if c == "neutral" or rng.random() >= 0.64 else "zh"
            pool = pools[(lang, c)]
            text, label, source, reason = pool[used[(lang, c)] % len(pool)]
            used[(lang, c)] += 1
            tp = _touchpoint(text, source, reason, rng)
        rows.append({
            "response_id": f"R{i + 1:06d}",
            "responded_at": when[i].strftime("%Y-%m-%d %H:%M:%S"),
            "metric": metric[i],
            "score": _score(str(metric[i]), c, rng),
            "customer_id": picks.at[i, "customer_id"],
            "comment": text,
            "comment_source": source,
            "comment_label": label,
            "channel": str(rng.choice(CHANNELS[0], p=CHANNELS[1])),
            "touchpoint": tp,
            "store_id": store_of[picks.at[i, "customer_id"]],
            "product_id": f"P{int(rng.zipf(1.6)) % 40 + 1:03d}",
            "survey_id": {"nps": "relationship-nps", "csat": "post-purchase-csat",
                          "ces": "service-ces"}[str(metric[i])],
        })
    fb = pd.DataFrame(rows)
    real = fb["comment"] != ""
    fb.loc[real, "comment"] = mask_pii(fb.loc[real, "comment"].tolist())
    with_text = np.flatnonzero(real.to_numpy())
    for j, k in enumerate(rng.choice(with_text, size=len(FAKE_PII), replace=False)):
        fb.at[k, "comment"] = str(fb.at[k, "comment"]) + " " + FAKE_PII[j]
    anon = rng.choice(N, size=N // 100, replace=False)
    fb.loc[anon, "customer_id"] = ""
    fb = fb.sort_values(["responded_at", "response_id"]).reset_index(drop=True)
    owners = pd.DataFrame([
        {"owner_id": o, "name": name, "email": f"{o.lower()}.owner@example.com", "store_id": s,
         "webhook": ""} for o, name, stores in OWNERS for s in stores
    ])
    return fb, owners


def main() -> None:
    """Write both files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text-dir", type=Path, default=ROOT.parent / "shared" / "data" / "text")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "clvlab" / "datasets" / "files")
    args = ap.parse_args()
    fb, owners = build(args.text_dir)
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        gz.write(fb.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    (args.out / "demo_feedback.csv.gz").write_bytes(buf.getvalue())
    owners.to_csv(args.out / "demo_owners.csv", index=False, lineterminator="\n")
    print(f"{len(fb):,} responses, {len(owners)} store owners -> {args.out}")


if __name__ == "__main__":
    main()
