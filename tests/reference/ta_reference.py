#!/usr/bin/env python3
"""Independent reference for pinewire's ta.* operators.

Every function here is written straight from TradingView's Pine v5 reference manual
(its definitions and its Pine reference implementations), over the whole history with
plain loops: each bar's value is recomputed from the series up to that bar, nothing is
carried incrementally except where the definition itself is recursive (ema, rma,
supertrend, fixnan). na is None. Standard library only.

Usage: ta_reference.py [DATA.json.gz]  (default tests/data/binance/BTC_USDT-1h.json.gz)
Prints one JSON object: case name -> list of per-bar values (null for na).
"""

import gzip
import json
import math
import os
import sys

NA = None


def isna(v):
    return v is None


# ---- Pine operators with na semantics ---------------------------------------------

def sub(a, b):
    return NA if isna(a) or isna(b) else a - b


def gt(a, b):
    return not isna(a) and not isna(b) and a > b


def lt(a, b):
    return not isna(a) and not isna(b) and a < b


def eq(a, b):
    return not isna(a) and not isna(b) and a == b


def nz(v):
    return 0.0 if isna(v) else v


def pmax(*vs):
    """math.max: na if any argument is na."""
    if any(isna(v) for v in vs):
        return NA
    return max(vs)


def div(a, b):
    """Pine division: na operands or a zero divisor give na."""
    if isna(a) or isna(b) or b == 0:
        return NA
    return a / b


def hist(src, t, i):
    """src[i] as seen on bar t: na before the first bar."""
    return src[t - i] if t - i >= 0 else NA


# ---- Definitions ------------------------------------------------------------------

def sma(src, n):
    # pine_sma: sum := sum + x[i] / y for i in 0..y-1; na if any term is na.
    out = []
    for t in range(len(src)):
        s = 0.0
        for i in range(n):
            v = hist(src, t, i)
            if isna(v):
                s = NA
                break
            s += v / n
        out.append(s)
    return out


def math_sum(src, n):
    out = []
    for t in range(len(src)):
        s = 0.0
        for i in range(n - 1, -1, -1):
            v = hist(src, t, i)
            if isna(v):
                s = NA
                break
            s += v
        out.append(s)
    return out


def smoothed(src, n, alpha):
    # pine_rma: sum := na(sum[1]) ? ta.sma(src, length) : alpha*src + (1-alpha)*nz(sum[1]),
    # and TradingView's ema is seeded the same way.
    seed = sma(src, n)
    out = []
    for t in range(len(src)):
        prev = out[t - 1] if t > 0 else NA
        if isna(prev):
            out.append(seed[t])
        elif isna(src[t]):
            out.append(NA)
        else:
            out.append(alpha * src[t] + (1 - alpha) * prev)
    return out


def ema(src, n):
    return smoothed(src, n, 2 / (n + 1))


def rma(src, n):
    return smoothed(src, n, 1 / n)


def wma(src, n):
    # pine_wma: weight = (y - i) * y, sum / norm.
    out = []
    for t in range(len(src)):
        norm = 0.0
        s = 0.0
        for i in range(n):
            v = hist(src, t, i)
            if isna(v):
                s = NA
                break
            w = (n - i) * n
            norm += w
            s += v * w
        out.append(NA if isna(s) else s / norm)
    return out


def vwma(src, vol, n):
    pv = [NA if isna(a) or isna(b) else a * b for a, b in zip(src, vol)]
    return [div(a, b) for a, b in zip(sma(pv, n), sma(vol, n))]


def stdev(src, n, biased=True):
    avg = sma(src, n)
    out = []
    for t in range(len(src)):
        if isna(avg[t]):
            out.append(NA)
            continue
        ss = 0.0
        for i in range(n):
            d = hist(src, t, i) - avg[t]
            ss += d * d
        den = n if biased else n - 1
        out.append(NA if den == 0 else math.sqrt(ss / den))
    return out


def bb(src, n, mult):
    basis = sma(src, n)
    dev = stdev(src, n)
    upper = [NA if isna(b) else b + mult * d for b, d in zip(basis, dev)]
    lower = [NA if isna(b) else b - mult * d for b, d in zip(basis, dev)]
    return basis, upper, lower


def change(src, n):
    return [sub(src[t], hist(src, t, n)) for t in range(len(src))]


def roc(src, n):
    out = []
    for t in range(len(src)):
        d = sub(src[t], hist(src, t, n))
        out.append(NA if isna(d) else div(100 * d, hist(src, t, n)))
    return out


def rsi(src, n):
    u = [NA if t == 0 else pmax(sub(src[t], src[t - 1]), 0) for t in range(len(src))]
    d = [NA if t == 0 else pmax(sub(src[t - 1], src[t]), 0) for t in range(len(src))]
    up, down = rma(u, n), rma(d, n)
    out = []
    for a, b in zip(up, down):
        if isna(a) or isna(b):
            out.append(NA)
        elif b == 0:
            out.append(100.0)
        elif a == 0:
            out.append(0.0)
        else:
            out.append(100 - 100 / (1 + a / b))
    return out


def extreme(src, n, pick):
    # Over the last n bars including this one; na for the first n-1 bars; na values are
    # skipped; na when the window holds no value.
    out = []
    for t in range(len(src)):
        if t + 1 < n:
            out.append(NA)
            continue
        vals = [src[t - i] for i in range(n) if not isna(src[t - i])]
        out.append(pick(vals) if vals else NA)
    return out


def highest(src, n):
    return extreme(src, n, max)


def lowest(src, n):
    return extreme(src, n, min)


def stoch(close, high, low, n):
    hh, ll = highest(high, n), lowest(low, n)
    return [div(NA if isna(c) or isna(l) else 100 * (c - l), sub(h, l))
            for c, h, l in zip(close, hh, ll)]


def cci(src, n):
    mean = sma(src, n)
    out = []
    for t in range(len(src)):
        if isna(mean[t]):
            out.append(NA)
            continue
        s = 0.0
        for i in range(n):
            s += abs(src[t - i] - mean[t])
        dev = s / n
        out.append(div(src[t] - mean[t], 0.015 * dev))
    return out


def tr(high, low, close, handle_na):
    out = []
    for t in range(len(close)):
        pc = hist(close, t, 1)
        if isna(pc):
            out.append(sub(high[t], low[t]) if handle_na else NA)
        else:
            out.append(pmax(sub(high[t], low[t]),
                            NA if isna(high[t]) else abs(high[t] - pc),
                            NA if isna(low[t]) else abs(low[t] - pc)))
    return out


def atr(high, low, close, n):
    return rma(tr(high, low, close, True), n)


def macd(src, fast, slow, sig):
    m = [sub(a, b) for a, b in zip(ema(src, fast), ema(src, slow))]
    s = ema(m, sig)
    return m, s, [sub(a, b) for a, b in zip(m, s)]


def supertrend(high, low, close, factor, period):
    # The manual's pine_supertrend, bar by bar; (na, na) where the atr is na.
    a = atr(high, low, close, period)
    lower_h, upper_h, st_h, values, dirs = [], [], [], [], []
    for t in range(len(close)):
        src = (high[t] + low[t]) / 2
        upper = NA if isna(a[t]) else src + factor * a[t]
        lower = NA if isna(a[t]) else src - factor * a[t]
        prev_lower = nz(lower_h[t - 1] if t > 0 else NA)
        prev_upper = nz(upper_h[t - 1] if t > 0 else NA)
        c1 = hist(close, t, 1)
        lower = lower if gt(lower, prev_lower) or lt(c1, prev_lower) else prev_lower
        upper = upper if lt(upper, prev_upper) or gt(c1, prev_upper) else prev_upper
        prev_st = st_h[t - 1] if t > 0 else NA
        if isna(hist(a, t, 1)):
            direction = 1
        elif eq(prev_st, prev_upper):
            direction = -1 if gt(close[t], upper) else 1
        else:
            direction = 1 if lt(close[t], lower) else -1
        st = lower if direction == -1 else upper
        lower_h.append(lower)
        upper_h.append(upper)
        st_h.append(st)
        values.append(NA if isna(a[t]) else st)
        dirs.append(NA if isna(a[t]) else float(direction))
    return values, dirs


def fixnan(src):
    out, last = [], NA
    for v in src:
        if not isna(v):
            last = v
        out.append(last)
    return out


def dmi(high, low, close, di_len, adx_len):
    up = change(high, 1)
    down = [NA if isna(c) else -c for c in change(low, 1)]
    plus_dm = [NA if isna(u) else (u if gt(u, d) and u > 0 else 0.0) for u, d in zip(up, down)]
    minus_dm = [NA if isna(d) else (d if gt(d, u) and d > 0 else 0.0) for u, d in zip(up, down)]
    trur = rma(tr(high, low, close, False), di_len)
    plus = fixnan([div(NA if isna(p) else 100 * p, r) for p, r in zip(rma(plus_dm, di_len), trur)])
    minus = fixnan([div(NA if isna(m) else 100 * m, r) for m, r in zip(rma(minus_dm, di_len), trur)])
    ratio = []
    for p, m in zip(plus, minus):
        if isna(p) or isna(m):
            ratio.append(NA)
        else:
            s = p + m
            ratio.append(abs(p - m) / (1 if s == 0 else s))
    adx = [NA if isna(v) else 100 * v for v in rma(ratio, adx_len)]
    return plus, minus, adx


def pivot(src, left, right, high):
    out = []
    for t in range(len(src)):
        c = t - right
        if c - left < 0:
            out.append(NA)
            continue
        window = src[c - left:t + 1]
        if any(isna(v) for v in window):
            out.append(NA)
            continue
        v = src[c]
        others = [src[j] for j in range(c - left, t + 1) if j != c]
        ok = all(v > o for o in others) if high else all(v < o for o in others)
        out.append(v if ok else NA)
    return out


def crossover(a, b):
    return [1.0 if t > 0 and gt(a[t], b[t]) and not isna(a[t - 1]) and not isna(b[t - 1])
            and a[t - 1] <= b[t - 1] else 0.0 for t in range(len(a))]


def crossunder(a, b):
    return [1.0 if t > 0 and lt(a[t], b[t]) and not isna(a[t - 1]) and not isna(b[t - 1])
            and a[t - 1] >= b[t - 1] else 0.0 for t in range(len(a))]


def cross(a, b):
    return [max(x, y) for x, y in zip(crossover(a, b), crossunder(a, b))]


def barssince(cond):
    out = []
    for t in range(len(cond)):
        last = NA
        for j in range(t, -1, -1):
            if cond[j]:
                last = j
                break
        out.append(NA if isna(last) else float(t - last))
    return out


def valuewhen(cond, src, occurrence):
    out = []
    for t in range(len(cond)):
        hits = [j for j in range(t, -1, -1) if cond[j]]
        out.append(src[hits[occurrence]] if len(hits) > occurrence else NA)
    return out


def cum(src):
    out = []
    for t in range(len(src)):
        s = 0.0
        for j in range(t + 1):
            if not isna(src[j]):
                s += src[j]
        out.append(s)
    return out


def vwap(src, vol, time_ms):
    day_ms = 86_400_000
    out = []
    for t in range(len(src)):
        day = time_ms[t] // day_ms
        start = t
        while start > 0 and time_ms[start - 1] // day_ms == day:
            start -= 1
        pv = 0.0
        v = 0.0
        for j in range(start, t + 1):
            if not isna(src[j]) and not isna(vol[j]):
                pv += src[j] * vol[j]
                v += vol[j]
        out.append(div(pv, v))
    return out


# ---- Cases ------------------------------------------------------------------------

def gappy(src):
    """The source with na holes: every 53rd bar from bar 7, and bars 300..303."""
    return [NA if i % 53 == 7 or 300 <= i < 304 else v for i, v in enumerate(src)]


def cases(rows):
    time_ms = [int(r[0]) for r in rows]
    high = [float(r[2]) for r in rows]
    low = [float(r[3]) for r in rows]
    close = [float(r[4]) for r in rows]
    opn = [float(r[1]) for r in rows]
    volume = [float(r[5]) for r in rows]
    hlc3 = [(h + l + c) / 3 for h, l, c in zip(high, low, close)]
    gap = gappy(close)
    up_bar = [c > o for c, o in zip(close, opn)]
    big_vol = [v > 2000 for v in volume]

    out = {}
    out["sma_close_20"] = sma(close, 20)
    out["sma_close_1"] = sma(close, 1)
    out["sma_gappy_10"] = sma(gap, 10)
    out["sum_close_10"] = math_sum(close, 10)
    out["sum_volume_24"] = math_sum(volume, 24)
    out["sum_gappy_3"] = math_sum(gap, 3)
    out["ema_close_9"] = ema(close, 9)
    out["ema_close_21"] = ema(close, 21)
    out["ema_close_1"] = ema(close, 1)
    out["ema_gappy_5"] = ema(gap, 5)
    out["rma_close_14"] = rma(close, 14)
    out["rma_close_1"] = rma(close, 1)
    out["rma_gappy_7"] = rma(gap, 7)
    out["wma_close_9"] = wma(close, 9)
    out["wma_close_30"] = wma(close, 30)
    out["wma_gappy_4"] = wma(gap, 4)
    out["vwma_close_20"] = vwma(close, volume, 20)
    out["vwma_close_5"] = vwma(close, volume, 5)
    out["rsi_close_14"] = rsi(close, 14)
    out["rsi_close_2"] = rsi(close, 2)
    out["rsi_gappy_14"] = rsi(gap, 14)
    out["stoch_14"] = stoch(close, high, low, 14)
    out["stoch_5"] = stoch(close, high, low, 5)
    out["cci_close_20"] = cci(close, 20)
    out["cci_hlc3_14"] = cci(hlc3, 14)
    out["mom_close_10"] = change(close, 10)
    out["roc_close_9"] = roc(close, 9)
    out["roc_gappy_2"] = roc(gap, 2)
    out["change_close_1"] = change(close, 1)
    out["change_close_5"] = change(close, 5)
    out["change_gappy_1"] = change(gap, 1)
    out["tr_false"] = tr(high, low, close, False)
    out["tr_true"] = tr(high, low, close, True)
    out["atr_14"] = atr(high, low, close, 14)
    out["atr_1"] = atr(high, low, close, 1)
    out["stdev_close_20"] = stdev(close, 20)
    out["stdev_close_5"] = stdev(close, 5)
    out["stdev_close_20_unbiased"] = stdev(close, 20, biased=False)
    out["stdev_gappy_8"] = stdev(gap, 8)
    for n, mult, name in [(20, 2.0, "bb_close_20_2"), (10, 1.5, "bb_close_10_1.5")]:
        basis, upper, lower = bb(close, n, mult)
        out[name + "_basis"] = basis
        out[name + "_upper"] = upper
        out[name + "_lower"] = lower
    for f, s, g in [(12, 26, 9), (5, 35, 5)]:
        m, sig, h = macd(close, f, s, g)
        out["macd_close_%d_%d_%d_macd" % (f, s, g)] = m
        out["macd_close_%d_%d_%d_signal" % (f, s, g)] = sig
        out["macd_close_%d_%d_%d_hist" % (f, s, g)] = h
    for factor, period, name in [(3.0, 10, "supertrend_3_10"), (2.0, 7, "supertrend_2_7"),
                                 (1.5, 1, "supertrend_1.5_1")]:
        v, d = supertrend(high, low, close, factor, period)
        out[name + "_value"] = v
        out[name + "_dir"] = d
    for di, adx_len in [(14, 14), (7, 3)]:
        p, m, a = dmi(high, low, close, di, adx_len)
        out["dmi_%d_%d_plus" % (di, adx_len)] = p
        out["dmi_%d_%d_minus" % (di, adx_len)] = m
        out["dmi_%d_%d_adx" % (di, adx_len)] = a
    out["highest_high_20"] = highest(high, 20)
    out["highest_high_1"] = highest(high, 1)
    out["highest_gappy_10"] = highest(gap, 10)
    out["lowest_low_20"] = lowest(low, 20)
    out["lowest_low_5"] = lowest(low, 5)
    out["lowest_gappy_10"] = lowest(gap, 10)
    out["pivothigh_high_5_5"] = pivot(high, 5, 5, True)
    out["pivothigh_high_2_3"] = pivot(high, 2, 3, True)
    out["pivothigh_gappy_3_3"] = pivot(gap, 3, 3, True)
    out["pivotlow_low_5_5"] = pivot(low, 5, 5, False)
    out["pivotlow_low_3_1"] = pivot(low, 3, 1, False)
    out["pivotlow_gappy_2_2"] = pivot(gap, 2, 2, False)
    sma20 = sma(close, 20)
    out["crossover_close_sma20"] = crossover(close, sma20)
    out["crossunder_close_sma20"] = crossunder(close, sma20)
    out["cross_ema9_ema21"] = cross(ema(close, 9), ema(close, 21))
    out["crossover_gappy_sma10"] = crossover(gap, sma(gap, 10))
    out["barssince_up"] = barssince(up_bar)
    out["barssince_bigvol"] = barssince(big_vol)
    out["valuewhen_up_close_0"] = valuewhen(up_bar, close, 0)
    out["valuewhen_up_close_2"] = valuewhen(up_bar, close, 2)
    out["valuewhen_bigvol_gappy_1"] = valuewhen(big_vol, gap, 1)
    out["cum_volume"] = cum(volume)
    out["cum_gappy"] = cum(gap)
    out["vwap_hlc3"] = vwap(hlc3, volume, time_ms)
    out["vwap_gappy"] = vwap(gap, volume, time_ms)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "data", "binance", "BTC_USDT-1h.json.gz")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    with gzip.open(path, "rt") as f:
        rows = json.load(f)
    result = cases(rows)
    n = len(rows)
    for name, series in result.items():
        if len(series) != n:
            raise SystemExit("case %s has %d values for %d bars" % (name, len(series), n))
    json.dump(result, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
