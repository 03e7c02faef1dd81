"""Every word the HTML report prints, in English and Chinese (one place: :data:`LABELS`).

Values may hold ``str.format`` fields (``{horizon}``); :func:`labels` returns the table of one
language, falling back to English for a key the other language lacks. Sentences the library
writes in English (churn reasons, economics notes) are translated by :func:`sentence` from
:data:`SENTENCES`.
"""

from __future__ import annotations

import re
import string
from functools import cache

LANGS = ("en", "zh")

EN: dict[str, str] = {
    "title": "Customer value report",
    "subtitle": "{customers} customers as of {as_of} · run {run_id} · model {model}",
    "generated": "Written {now} by clvlab {version} from workspace {workspace}.",
    "contents": "Contents",
    "charts_credit": "Charts: Apache ECharts {version} (Apache License 2.0), embedded in this file.",
    "data_table": "The numbers behind the chart",
    "missing": "Not shown",
    "demo_assumption": "demo assumption",
    "amounts_in": "Amounts in {currency}.",
    "amounts_plain": "Amounts in the currency of the transactions' amount column.",
    "small_sample": "fewer than {min_n} answers: read with care",
    # headline
    "summary": "Headline figures",
    "summary_intro": "CLV is the discounted expected margin per customer over the next {horizon} days "
                     "(discount rate {discount:.0%} a year, margin {margin:.0%} of revenue).",
    "tile_customers": "customers scored",
    "tile_total_clv": "total CLV, next {horizon} days",
    "tile_top_decile": "of the CLV is held by the top 10% of customers",
    "tile_nps": "NPS (95% interval {lower} to {upper}; {n} answers)",
    "tile_open_cases": "cases open or in progress",
    "tile_no_nps": "no feedback table: NPS not computed",
    # CLV
    "clv": "CLV distribution",
    "clv_intro": "How many customers fall into each CLV band, and how much of the total each tenth "
                 "of the customers (ranked by CLV) holds. Most of the value usually sits with few customers.",
    "clv_hist": "Customers by CLV",
    "clv_hist_overflow": "{low} and more",
    "clv_deciles": "Share of total CLV by decile (1 = the 10% with the highest CLV)",
    "decile": "decile",
    "clv_axis": "CLV",
    "customers": "customers",
    "share_pct": "share of total CLV (%)",
    "clv_range": "CLV range",
    "clv_total": "CLV in the decile",
    # stages
    "stages": "Lifecycle stages and flows",
    "stages_intro": "Customers per stage as of {as_of}, and where the customers of each stage on {start} "
                    "stood on {as_of} (rows: stage then; columns: stage now; (none): not yet a customer). "
                    "Cells count customers, shaded by their share of the row. Stages rest on each customer's own "
                    "purchase cadence and P(alive) of {model}.",
    "stage_sizes": "Customers per stage, {as_of}",
    "stage_flows": "Stage on {start} (rows) → stage on {as_of} (columns)",
    "stage": "stage",
    "from": "from \\ to",
    "row_share": "100% of the row",
    # health
    "health": "Health bands",
    "health_intro": "Health is a 0-100 score from named components (recency against the own cadence, "
                    "frequency and spend trend, P(alive), NPS, sentiment, open cases) with weights fitted "
                    "on past churn. The backtest scores customers as of {scored} and counts who then bought "
                    "nothing until {until}: a useful score has a much higher churn rate in red than in green.",
    "health_bands": "Customers per health band",
    "health_backtest": "Backtest: churn rate per band (scored {scored}, churn = no purchase until {until}; AUC {auc})",
    "band": "band",
    "mean_health": "mean health (0-100)",
    "churned": "churned",
    "churn_rate": "churn rate (%)",
    "predicted_rate": "predicted churn (%)",
    "backtest_missing": "Backtest not shown",
    # watchlist
    "watchlist": "Churn watchlist",
    "watchlist_intro": "The {n} customers with the most CLV at risk: CLV at risk = probability of churning "
                       "× CLV. The reasons are the features that raise each customer's churn probability most.",
    "watchlist_chart": "CLV at risk, top {n}",
    "watchlist_missing": "No churn table in the workspace: run `clvlab run` to compute churn.",
    "customer": "customer",
    "p_churn": "P(churn) (%)",
    "clv_at_risk": "CLV at risk",
    "reasons": "top reasons",
    "no_reason": "no single reason stands out (each feature group changes P(churn) by less than {points:g} points)",
    "rank": "rank",
    # NPS
    "nps_stage": "NPS by lifecycle stage",
    "nps_stage_intro": "Net Promoter Score (% promoters − % detractors, −100 to +100) of the answers "
                       "of the customers in each stage, with its 95% interval. Wide intervals mean few answers.",
    "nps_chart": "NPS per stage with 95% interval",
    "nps": "NPS",
    "answers": "answers",
    "interval": "95% interval",
    # cohorts
    "cohorts": "Cohort retention",
    "cohorts_intro": "Customers grouped by the {period} of their first purchase (rows); each cell is the "
                     "share of the cohort who bought in the {period} that many {period}s later (columns; "
                     "0 = the acquisition {period}, always 100%).",
    "cohort_chart": "Retention by {period} cohort (%)",
    "cohort": "cohort",
    "cohort_size": "size",
    "age": "{period}s since acquisition",
    "cohorts_cut": "The {n} most recent cohorts and the first {ages} {period}s shown; the cohorts table has all.",
    # economics
    "economics": "LTV:CAC by acquisition channel",
    "economics_intro": "LTV:CAC = lifetime value per customer ÷ the cost of acquiring one (spend ÷ new "
                       "customers). Above 1 a customer earns back the cost of winning them; 3 is a common "
                       "target. Payback = months until the cumulative margin covers the CAC.",
    "ltv_cac_chart": "LTV:CAC per channel",
    "channel": "channel",
    "cac": "CAC",
    "ltv": "LTV",
    "aov": "AOV",
    "ltv_cac": "LTV:CAC",
    "payback": "payback (months)",
    "break_even": "break-even 1",
    "target": "target 3",
    "never": "not yet",
    # model
    "model": "Model diagnostics",
    "model_intro": "Each candidate was fitted on the purchases up to {cal_end} and judged on the holdout "
                   "up to {as_of}: the chosen one ({best}) was then refitted on the whole period. A fit "
                   "whose status is not \"converged\" is never chosen when another converged.",
    "comparison": "Candidates on the holdout (repeat purchases)",
    "chosen": "chosen",
    "model_name": "model",
    "status": "fit status",
    "log_likelihood": "log-likelihood",
    "bic": "BIC",
    "mae": "holdout MAE (purchases per customer)",
    "predicted_total": "predicted",
    "actual_total": "actual",
    "params": "Parameters of the refitted models (standard errors in brackets)",
    "param": "parameter",
    "estimate": "estimate",
    "se": "standard error",
    "comparison_chart": "Holdout repeat purchases: predicted vs actual",
    "purchases": "repeat purchases",
    "voc_model": "What customers say, inside the purchase model ({model}): rate ratios with 95% intervals",
    "voc_group": "customers",
    "voc_process": "rate",
    "voc_ratio": "times the reference's",
    "voc_ci": "95% interval",
    "voc_purchase": "purchase rate",
    "voc_dropout": "dropout rate",
    "voc_detractor": "detractors vs promoters",
    "voc_passive": "passives vs promoters",
    "voc_no_nps": "no NPS answer vs promoters",
    "voc_negative_share": "all comments negative vs none",
    "voc_model_mae": "With the covariates {model} predicts the holdout {verdict} (error per customer {with_} vs "
                     "{without} without); the scores come from {family} without covariates. The ratios are "
                     "associations (answers are measured in the same period), not effects.",
    "voc_better": "better",
    "voc_worse": "no better",
    # tracking
    "tracking": "Holdout tracking",
    "tracking_intro": "Repeat purchases per {unit} of the customers acquired by {cal_end}: what {model} "
                      "fitted on the calibration period expected, and what the customers did. The first "
                      "period starts the day after the calibration end.",
    "tracking_chart": "Repeat purchases per {unit}",
    "tracking_cumulative": "Cumulative repeat purchases",
    "tracking_first": "The first period (from {start}) spans {n} days: the {extra} day(s) left of the "
                      "calibration end's {unit} count as holdout purchases (as in the holdout totals), "
                      "while the prediction covers one {unit}.",
    "tracking_cut": "The last period ({start} to {end}) holds only {n} day(s) of data, so its actual count "
                    "is low while the prediction covers a whole {unit}.",
    "period_start": "{unit} starting",
    "predicted": "predicted",
    "actual": "actual",
    "week": "week", "day": "day", "month": "month", "quarter": "quarter", "year": "year",
    # stage and band names
    "stage_prospect": "prospect", "stage_onboarding": "onboarding", "stage_growth": "growth",
    "stage_mature": "mature", "stage_won_back": "won back", "stage_declining": "declining",
    "stage_churned": "churned", "stage_(none)": "(none)", "stage_(unscored)": "(no stage)",
    "band_red": "red", "band_yellow": "yellow", "band_green": "green",
}

ZH: dict[str, str] = {
    "title": "客户价值报告",
    "subtitle": "截至 {as_of} 的 {customers} 位客户 · 运行 {run_id} · 模型 {model}",
    "generated": "由 clvlab {version} 于 {now} 根据工作区 {workspace} 生成。",
    "contents": "目录",
    "charts_credit": "图表：Apache ECharts {version}（Apache License 2.0），已内嵌于本文件。",
    "data_table": "图表背后的数据",
    "missing": "未显示",
    "demo_assumption": "演示假设",
    "amounts_in": "金额单位：{currency}。",
    "amounts_plain": "金额单位与交易金额列相同。",
    "small_sample": "回答少于 {min_n} 条：请谨慎解读",
    "summary": "核心指标",
    "summary_intro": "CLV 为每位客户未来 {horizon} 天的折现预期毛利（年折现率 {discount:.0%}，毛利率 {margin:.0%}）。",
    "tile_customers": "位客户已评分",
    "tile_total_clv": "CLV 总额（未来 {horizon} 天）",
    "tile_top_decile": "的 CLV 集中在前 10% 的客户",
    "tile_nps": "NPS（95% 区间 {lower} 至 {upper}；{n} 条回答）",
    "tile_open_cases": "个工单处于打开或处理中",
    "tile_no_nps": "无反馈表：未计算 NPS",
    "clv": "CLV 分布",
    "clv_intro": "各 CLV 区间的客户数，以及按 CLV 排序后每十分之一客户所占的价值份额。价值通常集中在少数客户。",
    "clv_hist": "按 CLV 划分的客户数",
    "clv_hist_overflow": "{low} 及以上",
    "clv_deciles": "各十分位的 CLV 占比（1 = CLV 最高的 10%）",
    "decile": "十分位",
    "clv_axis": "CLV",
    "customers": "客户数",
    "share_pct": "占 CLV 总额比例（%）",
    "clv_range": "CLV 区间",
    "clv_total": "该十分位 CLV",
    "stages": "生命周期阶段与流转",
    "stages_intro": "截至 {as_of} 各阶段的客户数，以及 {start} 时各阶段的客户在 {as_of} 所处的阶段"
                    "（行：当时阶段；列：现在阶段；(none)：当时尚非客户）。格中为客户数，颜色深浅表示占该行的比例。阶段依据每位客户自身的购买周期和 {model} 的 P(alive)。",
    "stage_sizes": "各阶段客户数（{as_of}）",
    "stage_flows": "{start} 的阶段（行）→ {as_of} 的阶段（列）",
    "stage": "阶段",
    "from": "从 \\ 到",
    "row_share": "占该行 100%",
    "health": "健康度分档",
    "health_intro": "健康度是 0-100 的分数，由命名的组成部分（相对自身购买周期的近度、购买频率与消费趋势、P(alive)、"
                    "NPS、情感、未结工单）加权得出，权重依据历史流失拟合。回测在 {scored} 评分，统计此后到 {until} "
                    "未再购买的客户：有效的分数应使红档的流失率远高于绿档。",
    "health_bands": "各健康档客户数",
    "health_backtest": "回测：各档流失率（{scored} 评分，流失 = 到 {until} 无购买；AUC {auc}）",
    "band": "档位",
    "mean_health": "平均健康度（0-100）",
    "churned": "已流失",
    "churn_rate": "流失率（%）",
    "predicted_rate": "预测流失率（%）",
    "backtest_missing": "未显示回测",
    "watchlist": "流失预警名单",
    "watchlist_intro": "流失风险价值最高的 {n} 位客户：风险 CLV = 流失概率 × CLV。原因是使该客户流失概率上升最多的特征。",
    "watchlist_chart": "风险 CLV，前 {n} 位",
    "watchlist_missing": "工作区中没有 churn 表：请运行 `clvlab run` 计算流失。",
    "customer": "客户",
    "p_churn": "流失概率（%）",
    "clv_at_risk": "风险 CLV",
    "reasons": "主要原因",
    "no_reason": "没有突出的单一原因（每组特征对流失概率的影响都不到 {points:g} 个百分点）",
    "rank": "排名",
    "nps_stage": "各生命周期阶段的 NPS",
    "nps_stage_intro": "各阶段客户回答的净推荐值（推荐者 % − 贬损者 %，−100 至 +100）及其 95% 区间。区间越宽，回答越少。",
    "nps_chart": "各阶段 NPS 及 95% 区间",
    "nps": "NPS",
    "answers": "回答数",
    "interval": "95% 区间",
    "cohorts": "同期群留存",
    "cohorts_intro": "按首次购买所在{period}分组的客户（行）；每格为该群在其后第 N 个{period}（列；0 = 获客当{period}，恒为 100%）"
                     "有购买的客户比例。",
    "cohort_chart": "按{period}同期群的留存率（%）",
    "cohort": "同期群",
    "cohort_size": "人数",
    "age": "获客后{period}数",
    "cohorts_cut": "仅显示最近 {n} 个同期群和前 {ages} 个{period}；cohorts 表包含全部数据。",
    "economics": "各获客渠道的 LTV:CAC",
    "economics_intro": "LTV:CAC = 每位客户的生命周期价值 ÷ 获取一位客户的成本（投放 ÷ 新客户数）。大于 1 表示客户能收回获客成本；"
                       "常见目标为 3。回本周期 = 累计毛利覆盖 CAC 所需的月数。",
    "ltv_cac_chart": "各渠道 LTV:CAC",
    "channel": "渠道",
    "cac": "CAC",
    "ltv": "LTV",
    "aov": "客单价（AOV）",
    "ltv_cac": "LTV:CAC",
    "payback": "回本周期（月）",
    "break_even": "盈亏平衡 1",
    "target": "目标 3",
    "never": "尚未回本",
    "model": "模型诊断",
    "model_intro": "每个候选模型用 {cal_end} 之前的购买拟合，并在截至 {as_of} 的保留期检验；选中的模型（{best}）"
                   "再用整个期间重新拟合。只要有其他模型收敛，状态不是“converged”的模型就不会被选中。",
    "comparison": "保留期上的候选模型（重复购买）",
    "chosen": "选中",
    "model_name": "模型",
    "status": "拟合状态",
    "log_likelihood": "对数似然",
    "bic": "BIC",
    "mae": "保留期 MAE（每客户购买次数）",
    "predicted_total": "预测",
    "actual_total": "实际",
    "params": "重新拟合模型的参数（括号内为标准误）",
    "param": "参数",
    "estimate": "估计值",
    "se": "标准误",
    "comparison_chart": "保留期重复购买：预测与实际",
    "purchases": "重复购买次数",
    "voc_model": "购买模型中的客户之声（{model}）：比率及 95% 区间",
    "voc_group": "客户",
    "voc_process": "速率",
    "voc_ratio": "为参照组的倍数",
    "voc_ci": "95% 区间",
    "voc_purchase": "购买率",
    "voc_dropout": "流失率",
    "voc_detractor": "贬损者 vs 推荐者",
    "voc_passive": "被动者 vs 推荐者",
    "voc_no_nps": "未回答 NPS vs 推荐者",
    "voc_negative_share": "评论全部负面 vs 没有负面",
    "voc_model_mae": "加入协变量后，{model} 对保留期的预测{verdict}（每客户误差 {with_}，不加为 {without}）；"
                     "得分仍来自不含协变量的 {family}。这些比率是关联（回答与行为在同一期间测得），不是因果效应。",
    "voc_better": "更好",
    "voc_worse": "没有更好",
    "tracking": "保留期跟踪",
    "tracking_intro": "{cal_end} 前获取的客户每{unit}的重复购买：用校准期拟合的 {model} 的预期与客户的实际行为。"
                      "第一个周期从校准期结束后一天开始。",
    "tracking_chart": "每{unit}重复购买次数",
    "tracking_cumulative": "累计重复购买次数",
    "tracking_first": "第一个周期（自 {start} 起）共 {n} 天：校准期结束所在{unit}剩余的 {extra} 天计入保留期购买"
                      "（与保留期总数一致），而预测只覆盖一{unit}。",
    "tracking_cut": "最后一个周期（{start} 至 {end}）只有 {n} 天的数据，因此实际次数偏低，而预测覆盖整{unit}。",
    "period_start": "{unit}起始日",
    "predicted": "预测",
    "actual": "实际",
    "week": "周", "day": "日", "month": "月", "quarter": "季度", "year": "年",
    "stage_prospect": "潜在客户", "stage_onboarding": "新手期", "stage_growth": "成长期",
    "stage_mature": "成熟期", "stage_won_back": "赢回", "stage_declining": "衰退期",
    "stage_churned": "已流失", "stage_(none)": "（无）", "stage_(unscored)": "（无阶段）",
    "band_red": "红", "band_yellow": "黄", "band_green": "绿",
}

LABELS: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}

#: the sentences the library writes (``clvlab.lifecycle.churn`` reasons, ``clvlab.value.economics``
#: notes) as English templates and their translation; a ``{field}`` matches any text, which is
#: itself translated when it is a sentence here (``promoter``), else kept (numbers, file names)
SENTENCES: dict[str, dict[str, str]] = {"zh": {
    # churn reasons
    "one purchase only, {days} days ago": "只购买过一次，在 {days} 天前",
    "no purchase for {days} days, {ratio}x own cadence (one purchase every {cadence} days over {n} purchase days)":
        "已 {days} 天未购买，是自身购买间隔的 {ratio} 倍（{n} 个购买日，平均每 {cadence} 天购买一次）",
    "{n} purchase days in the last {window} days, {before} in the {window} before":
        "近 {window} 天有 {n} 个购买日，此前 {window} 天有 {before} 个",
    "{n} purchase day in the last {window} days, {before} in the {window} before":
        "近 {window} 天有 {n} 个购买日，此前 {window} 天有 {before} 个",
    "spend {spend} in all, {mean} per purchase day (a typical stayer: {usual})":
        "累计消费 {spend}，每个购买日 {mean}（留存客户的典型值：{usual}）",
    "spend {spend} in all, {mean} per purchase day": "累计消费 {spend}，每个购买日 {mean}",
    "spend {recent} in the last {window} days, {before} before": "近 {window} 天消费 {recent}，此前 {before}",
    "one purchase every {cadence} days over {n} purchase days (a typical stayer: every {usual} days), the last "
    "{days} days ago": "{n} 个购买日，平均每 {cadence} 天购买一次（留存客户的典型值：每 {usual} 天），最近一次在 {days} 天前",
    "one purchase every {cadence} days over {n} purchase days, the last {days} days ago":
        "{n} 个购买日，平均每 {cadence} 天购买一次，最近一次在 {days} 天前",
    "{expected} purchases expected in the next {window} days (a typical stayer: {usual}), P(alive) {p} ({model})":
        "预计未来 {window} 天购买 {expected} 次（留存客户的典型值：{usual}），P(alive) {p}（{model}）",
    "{expected} purchases expected in the next {window} days, P(alive) {p} ({model})":
        "预计未来 {window} 天购买 {expected} 次，P(alive) {p}（{model}）",
    "no survey answer": "没有问卷回答",
    "no NPS answer": "没有 NPS 回答",
    "latest NPS {score} ({group}), {change} on the answer before":
        "最近一次 NPS {score}（{group}），比上一次 {change}",
    "latest NPS {score} ({group})": "最近一次 NPS {score}（{group}）",
    "promoter": "推荐者", "passive": "被动者", "detractor": "贬损者",
    "no CSAT answer": "没有 CSAT 回答", "latest CSAT {score}": "最近一次 CSAT {score}",
    "no CES answer": "没有 CES 回答", "latest CES {score}": "最近一次 CES {score}",
    "no comment": "没有评论",
    "latest comment {tone} ({score})": "最近一条评论{tone}（{score}）",
    "negative": "负面", "positive": "正面", "neutral": "中性",
    "no complaint": "没有投诉",
    "{n} complaint in comments": "评论中有 {n} 次投诉",
    "{n} complaints in comments": "评论中有 {n} 次投诉",
    "a case open": "有未结工单",
    "no open case": "没有未结工单",
    # economics notes
    "demo assumption: {file} and {other} are made up for the demo (CDNOW has no channels or spend): channels "
    "follow the customer id, spend an assumed CAC; CAC, LTV:CAC and payback are illustrations":
        "演示假设：{file} 和 {other} 是为演示虚构的数据（CDNOW 没有渠道和投放）：渠道由客户编号决定，投放按假定的 "
        "CAC 计；CAC、LTV:CAC 和回本周期仅作示意",
    "demo assumption: {file} are made up for the demo (CDNOW has no channels or spend): channels follow the "
    "customer id, spend an assumed CAC; CAC, LTV:CAC and payback are illustrations":
        "演示假设：{file} 是为演示虚构的数据（CDNOW 没有渠道和投放）：渠道由客户编号决定，投放按假定的 CAC 计；"
        "CAC、LTV:CAC 和回本周期仅作示意",
    "LTV = margin realised per customer to as_of + the model CLV still to come":
        "LTV = 每位客户截至 as_of 已实现的毛利 + 模型预计的未来 CLV",
    "LTV is the formula CLV ({why})": "LTV 为公式 CLV（{why}）",
    "margin {share}: {source}": "毛利率 {share}：{source}",
    "assumed 1.0: revenue, not margin (no transaction line carries a margin or cost)":
        "假定为 1.0：即收入而非毛利（没有交易明细带有毛利或成本）",
    "assumed constant {share}": "假定恒为 {share}",
    "margin measured on the {known} of {lines} transaction lines that carry a margin or cost, applied to all of "
    "each group's revenue": "毛利率按 {lines} 条交易明细中带有毛利或成本的 {known} 条计算，并用于各组的全部收入",
    "spend of {spend} is in no row: no customer was acquired in {groups} (check the channel names in "
    "marketing_spend against customers.acquisition_channel)":
        "{spend} 的投放不属于任何一行：{groups} 没有获取到客户（请核对 marketing_spend 与 "
        "customers.acquisition_channel 中的渠道名称）",
    # experiments (clvlab.experiments.analyze: the SRM verdict and the notes of an analysis)
    "no sample ratio mismatch: {seen} against a planned {planned} ({fit})":
        "无样本比例失衡（SRM）：{seen}，计划 {planned}（{fit}）",
    "SAMPLE RATIO MISMATCH: {split} against a planned {planned} (chi-squared {chi2}, p = {p} < {alpha}): the "
    "assignment or the data are broken; do not trust the effects":
        "样本比例失衡（SRM）：{split}，计划 {planned}（卡方 {chi2}，p = {p} < {alpha}）：分组或数据有误，不要相信这些效果",
    "SRM not checked: the planned split is unknown (pass control=)": "未检查 SRM：计划的分组比例未知（请传入 control=）",
    "{share} control": "对照组 {share}",
    "chi-squared {chi2}, p = {p}": "卡方 {chi2}，p = {p}",
    "pre-period CLV covariate: {source}": "前测期 CLV 协变量：{source}",
    "clv at assignment": "分组时的 CLV",
    "pre-period spend": "前测期消费",
}}


@cache
def _patterns(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each English template of :data:`SENTENCES` as a whole-text regex (a repeated field must repeat)."""
    out = []
    for english, translated in SENTENCES.get(lang, {}).items():
        regex, seen = "", set()
        for literal, name, _, _ in string.Formatter().parse(english):
            regex += re.escape(literal)
            if name:
                regex += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
                seen.add(name)
        out.append((re.compile(regex, re.DOTALL), translated))
    return tuple(out)


def sentence(text: str, lang: str) -> str:
    """``text``, a sentence the library wrote in English, in ``lang``; unchanged when unknown.

    Examples
    --------
    >>> sentence("latest NPS 3 (detractor)", "zh")
    '最近一次 NPS 3（贬损者）'
    >>> sentence("something new", "zh")
    'something new'
    """
    for pattern, translated in _patterns(lang):
        match = pattern.fullmatch(text)
        if match:
            return translated.format(**{k: sentence(v, lang) for k, v in match.groupdict().items()})
    return text


def labels(lang: str) -> dict[str, str]:
    """The labels of ``lang`` (``"en"`` or ``"zh"``), English where a key has no translation."""
    return {**EN, **LABELS[lang]}
