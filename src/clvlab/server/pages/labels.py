"""Every word the server's pages print beyond the report's (:mod:`clvlab.report.labels`), in
English and Chinese; :func:`page_labels` merges both, English where a key has no translation."""

from __future__ import annotations

from clvlab.report.labels import labels

EN: dict[str, str] = {
    "app": "clvlab",
    "nav_overview": "Overview", "nav_customers": "Customers", "nav_cases": "Cases", "nav_voc": "Voice of the customer",
    "nav_lifecycle": "Lifecycle",
    "role_admin": "admin", "role_analyst": "analyst", "role_store_manager": "store manager",
    "all_stores": "all stores", "stores": "stores", "logout": "Log out", "language": "中文",
    "login": "Log in", "login_title": "Log in to clvlab", "user_name": "User name", "password": "Password",
    "csv": "CSV", "download_csv": "Download this table as CSV", "no_rows": "Nothing to show.",
    "error": "Error", "back": "Back to the overview",
    "charts_served": "Charts: Apache ECharts {version} (Apache License 2.0), served by this server.",
    # overview
    "overview": "Overview", "overview_intro": "Customer value, satisfaction, risk and open work of {who}.",
    "your_stores": "your stores ({stores})", "every_store": "every store",
    "nps_trend": "NPS by month", "nps_trend_intro": "NPS of each month's answers with its 95% interval.",
    "nps_trend_chart": "NPS per month with 95% interval", "month": "month",
    "at_risk": "Customers at risk", "at_risk_intro": "The customers with the most CLV at risk (P(churn) × CLV).",
    "open_cases": "Open cases", "open_cases_intro": "Cases open or in progress, the most urgent first.",
    "no_feedback": "No feedback in these stores yet.", "no_scores": "No scores yet: run `clvlab run`.",
    "no_customers_here": "No scored customer is placed in these stores (a customer's store is customers.store_id, "
                         "else the store_id of their transactions).",
    # customers
    "customers_title": "Customers", "search": "Customer id contains", "segment": "segment", "store": "store",
    "any": "any", "sort": "sort by", "filter": "Filter", "page_of": "page {page} of {pages} ({total} customers)",
    "previous": "previous", "next": "next", "health_score": "health", "p_alive": "P(alive)",
    "timeline": "Purchases", "timeline_chart": "Purchases over time", "date": "date", "amount": "amount",
    "orders": "orders", "feedback": "Feedback", "score": "score", "comment": "comment", "metric": "metric",
    "scores": "Predicted value", "stage_health": "Stage and health", "value": "value", "field": "field",
    "customer_title": "Customer {id}",
    # cases
    "cases_title": "Cases", "cases_intro": "Cases of {who}: SLA colours show what is overdue (red) or due soon (amber).",
    "owner": "owner", "state": "state", "priority": "priority", "sla": "SLA", "opened": "opened", "due": "due",
    "reasons_case": "why", "actions": "actions", "assign": "Assign", "start": "Start", "resolve": "Resolve",
    "root_cause": "root cause", "note": "note", "all_owners": "every owner", "case": "case",
    "state_open": "open", "state_in_progress": "in progress", "state_resolved": "resolved", "state_closed": "closed",
    "sla_ok": "ok", "sla_due soon": "due soon", "sla_overdue": "overdue", "sla_met": "met", "sla_missed": "missed",
    "changed": "Case {id}: {action} done.",
    "cases_shown": "The {shown} most urgent of {total} cases are listed: choose an owner or a state, or download the CSV for all.",
    # voc and lifecycle
    "voc": "Voice of the customer", "voc_intro": "NPS and CSAT by store and month, with 95% intervals.",
    "by_store": "{metric} by store with 95% interval", "by_month": "{metric} by month with 95% interval",
    "keywords": "Top keywords", "keyword": "keyword", "mentions": "answers",
    "lifecycle": "Lifecycle",
    # company-wide pages
    "nav_models": "Models", "models": "Models",
    "nav_economics": "Economics", "unit_economics": "Unit economics",
    "demo_stores": "Demo assumption: CDNOW had no stores, so the bundled demo places each customer in a made-up "
                   "home store (the store of their survey answers, else one fixed by their id).",
    "nav_responses": "Responses", "responses": "Survey responses", "response": "response", "survey": "survey",
    "submitted": "submitted",
    "responses_intro": "Answers to the surveys of this server from {who}, newest first (they join the feedback "
                       "figures after the next clvlab run).",
    "responses_shown": "The latest {shown} of {total} responses; the CSV has all of them.",
    "nav_journey": "Journey", "journey": "Customer journey",
    "journey_intro": "Where the customers of {who} meet us, what they think of each touchpoint, and where they drop "
                     "away on the way to buying again.",
    "touchpoints": "Touchpoints", "touchpoint": "touchpoint",
    "touchpoints_intro": "Answers per touchpoint, and NPS, CSAT and CES at each with 95% intervals.",
    "touchpoint_volume": "Answers per touchpoint", "touchpoint_nps": "NPS per touchpoint with 95% interval",
    "no_touchpoints": "No answer names a touchpoint in these stores.",
    "order_assumed": "The order is the usual purchase journey ({order}), an assumption: feedback does not record "
                     "which touchpoint a customer met first.",
    "tp_website": "website", "tp_app": "app", "tp_store": "store", "tp_checkout": "checkout", "tp_payment": "payment",
    "tp_delivery": "delivery", "tp_product": "product", "tp_customer_service": "customer service",
    "tp_returns": "returns",
    "drop_away": "Where customers drop away",
    "drop_away_intro": "Customers who ever did each step, and how many of the step before did not go on: site "
                       "visits, product views and cart adds from the events, then a first and a second purchase day.",
    "funnel_chart": "Customers per step", "step": "step", "from_previous": "of the step before",
    "conversion": "went on", "dropped": "dropped away",
    "step_site_visit": "visited the site", "step_product_view": "viewed a product", "step_cart_add": "added to cart",
    "step_first_purchase": "first purchase", "step_second_purchase": "second purchase",
    "funnel_skips": "A customer may skip a step (buy without an add-to-cart event, say), so a step can count more "
                    "customers than the one before; \"went on\" is the share of the step before's customers who "
                    "did this step too.",
    "no_funnel": "Neither events nor purchases of these customers are loaded.",
    "no_events": "No events are loaded (clvlab load events FILE): the funnel starts at the first purchase.",
    "demo_events": "Demo assumption: the events (demo_events.csv.gz) are made up for the demo (CDNOW has no site "
                   "visits); the steps before the first purchase are illustrations.",
    "funnel_scoped": "Events and purchases of the customers placed in your stores (customers.store_id, else the "
                     "stores of their transactions).",
    "nav_experiments": "Experiments", "experiments": "Experiments",
    "experiments_intro": "Every experiment of the workspace with its arms; open one for its analysis.",
    "no_experiments": "No experiment yet (clvlab experiment assign, or clvlab load experiments FILE).",
    "experiment": "experiment", "name": "name", "exp_status": "status", "arm_control": "control",
    "arm_treatment": "treatment", "control_share": "planned control share", "assigned": "assigned",
    "experiment_title": "Experiment: {name}", "experiment_intro": "Experiment {id}: treatment minus control on each metric.",
    "experiment_design": "Arms and sample ratio",
    "experiment_design_intro": "Metrics before the assignment ({pre}) adjust the comparison (CUPED); effects are "
                               "measured on {post}.",
    "srm": "sample ratio check", "srm_ok": "passed", "srm_flagged": "MISMATCH: do not trust the effects",
    "effects": "Effects", "effects_intro": "Treatment minus control per metric with its {level}% interval; the "
                                           "chart shows it relative to control, so metrics of different units line up.",
    "effects_chart": "Effect relative to control (%) with {level}% interval", "relative_effect": "relative effect (%)",
    "mean_control": "control mean", "mean_treatment": "treatment mean", "effect": "effect",
    "interval_level": "{level}% interval", "p_adjusted": "adjusted p", "plain_words": "In plain words",
    "finding": "what the data say",
    "metric_retention": "retention", "metric_repurchase": "repurchase", "metric_spend": "spend",
    "metric_clv": "CLV", "metric_p_alive": "P(alive)",
    "unit_economics_intro": "What a customer costs (CAC), spends per order (AOV) and is worth (LTV) by acquisition "
                            "channel, how long the margin takes to pay the CAC back, and how each month's new "
                            "customers keep buying.",
    "models_intro": "How well the last run's models fit: each candidate judged on purchases it did not see, "
                    "the chosen fit's parameters, and the holdout tracked period by period.",
}

ZH: dict[str, str] = {
    "nav_overview": "总览", "nav_customers": "客户", "nav_cases": "工单", "nav_voc": "客户之声",
    "nav_lifecycle": "生命周期",
    "role_admin": "管理员", "role_analyst": "分析师", "role_store_manager": "门店经理",
    "all_stores": "全部门店", "stores": "门店", "logout": "退出", "language": "English",
    "login": "登录", "login_title": "登录 clvlab", "user_name": "用户名", "password": "密码",
    "csv": "CSV", "download_csv": "下载此表（CSV）", "no_rows": "暂无数据。", "error": "错误", "back": "返回总览",
    "charts_served": "图表：Apache ECharts {version}（Apache License 2.0），由本服务器提供。",
    "overview": "总览", "overview_intro": "{who}的客户价值、满意度、风险和待处理工作。",
    "your_stores": "您的门店（{stores}）", "every_store": "全部门店",
    "nps_trend": "各月 NPS", "nps_trend_intro": "每月回答的 NPS 及其 95% 区间。",
    "nps_trend_chart": "各月 NPS 及 95% 区间", "month": "月份",
    "at_risk": "高风险客户", "at_risk_intro": "风险 CLV（流失概率 × CLV）最高的客户。",
    "open_cases": "未结工单", "open_cases_intro": "打开或处理中的工单，最紧急的在前。",
    "no_feedback": "这些门店尚无反馈。", "no_scores": "尚无评分：请运行 `clvlab run`。",
    "no_customers_here": "这些门店没有已评分的客户（客户所属门店取自 customers.store_id，否则取其交易的 store_id）。",
    "customers_title": "客户", "search": "客户编号包含", "segment": "细分", "store": "门店", "any": "全部",
    "sort": "排序", "filter": "筛选", "page_of": "第 {page} / {pages} 页（共 {total} 位客户）",
    "previous": "上一页", "next": "下一页", "health_score": "健康度", "p_alive": "存活概率",
    "timeline": "购买记录", "timeline_chart": "购买时间线", "date": "日期", "amount": "金额", "orders": "订单数",
    "feedback": "反馈", "score": "评分", "comment": "评论", "metric": "指标", "scores": "预测价值",
    "stage_health": "阶段与健康度", "value": "值", "field": "字段", "customer_title": "客户 {id}",
    "cases_title": "工单", "cases_intro": "{who}的工单：红色为已超期，琥珀色为即将到期。",
    "owner": "负责人", "state": "状态", "priority": "优先级", "sla": "SLA", "opened": "创建", "due": "到期",
    "reasons_case": "原因", "actions": "操作", "assign": "指派", "start": "开始处理", "resolve": "解决",
    "root_cause": "根本原因", "note": "备注", "all_owners": "全部负责人", "case": "工单",
    "state_open": "打开", "state_in_progress": "处理中", "state_resolved": "已解决", "state_closed": "已关闭",
    "sla_ok": "正常", "sla_due soon": "即将到期", "sla_overdue": "已超期", "sla_met": "已达成", "sla_missed": "未达成",
    "changed": "工单 {id}：{action} 已完成。",
    "cases_shown": "仅列出 {total} 个工单中最紧急的 {shown} 个：请选择负责人或状态，或下载 CSV 查看全部。",
    "voc": "客户之声", "voc_intro": "按门店和月份的 NPS 与 CSAT，含 95% 区间。",
    "by_store": "各门店 {metric} 及 95% 区间", "by_month": "各月 {metric} 及 95% 区间",
    "keywords": "高频关键词", "keyword": "关键词", "mentions": "回答数",
    "lifecycle": "生命周期",
    "nav_models": "模型", "models": "模型",
    "nav_economics": "经济性", "unit_economics": "单位经济",
    "demo_stores": "演示假设：CDNOW 没有门店，内置演示为每位客户编造了所属门店（其问卷回答所在的门店，否则由客户编号确定）。",
    "nav_responses": "问卷回答", "responses": "问卷回答", "response": "回答", "survey": "问卷", "submitted": "提交时间",
    "responses_intro": "{who}对本服务器问卷的回答，最新的在前（下次运行 clvlab run 后计入反馈指标）。",
    "responses_shown": "共 {total} 条回答中最新的 {shown} 条；CSV 包含全部。",
    "nav_journey": "客户旅程", "journey": "客户旅程",
    "journey_intro": "{who}的客户在哪些触点与我们接触、对每个触点的评价，以及在再次购买之前于何处流失。",
    "touchpoints": "触点", "touchpoint": "触点",
    "touchpoints_intro": "各触点的回答数，以及各触点的 NPS、CSAT 和 CES 及 95% 区间。",
    "touchpoint_volume": "各触点回答数", "touchpoint_nps": "各触点 NPS 及 95% 区间",
    "no_touchpoints": "这些门店没有标明触点的回答。",
    "order_assumed": "顺序为常见的购买旅程（{order}），属于假设：反馈数据不记录客户先接触哪个触点。",
    "tp_website": "网站", "tp_app": "应用", "tp_store": "门店", "tp_checkout": "结账", "tp_payment": "支付",
    "tp_delivery": "配送", "tp_product": "商品", "tp_customer_service": "客服", "tp_returns": "退货",
    "drop_away": "客户在何处流失",
    "drop_away_intro": "曾完成每一步的客户数，以及上一步中有多少客户没有继续：访问网站、浏览商品和加入购物车来自事件数据，"
                       "随后是首次和第二次购买。",
    "funnel_chart": "每一步的客户数", "step": "步骤", "from_previous": "来自上一步", "conversion": "继续比例",
    "dropped": "流失", "step_site_visit": "访问网站", "step_product_view": "浏览商品", "step_cart_add": "加入购物车",
    "step_first_purchase": "首次购买", "step_second_purchase": "第二次购买",
    "funnel_skips": "客户可能跳过某一步（例如未加入购物车而直接购买），因此某一步的客户数可能多于上一步；"
                    "“继续比例”是上一步客户中也完成了这一步的比例。",
    "no_funnel": "这些客户的事件和购买均未载入。",
    "no_events": "未载入事件（clvlab load events FILE）：漏斗从首次购买开始。",
    "demo_events": "演示假设：事件数据（demo_events.csv.gz）为演示而编造（CDNOW 没有网站访问记录），首次购买之前的步骤仅作示意。",
    "funnel_scoped": "您门店客户的事件和购买（客户门店取自 customers.store_id，否则取其交易的门店）。",
    "nav_experiments": "实验", "experiments": "实验",
    "experiments_intro": "工作区中的全部实验及其分组；打开一个实验查看分析。",
    "no_experiments": "尚无实验（clvlab experiment assign，或 clvlab load experiments FILE）。",
    "experiment": "实验", "name": "名称", "exp_status": "状态", "arm_control": "对照组", "arm_treatment": "实验组",
    "control_share": "计划对照比例", "assigned": "分配日期",
    "experiment_title": "实验：{name}", "experiment_intro": "实验 {id}：各指标上实验组减对照组的差异。",
    "experiment_design": "分组与样本比例",
    "experiment_design_intro": "分配前（{pre}）的指标用于调整比较（CUPED）；效果在 {post} 期间测量。",
    "srm": "样本比例检验", "srm_ok": "通过", "srm_flagged": "样本比例失衡：效果不可信",
    "effects": "效果", "effects_intro": "各指标实验组减对照组的差异及其 {level}% 区间；图中以相对对照组的百分比显示，便于比较不同单位的指标。",
    "effects_chart": "相对对照组的效果（%）及 {level}% 区间", "relative_effect": "相对效果（%）",
    "mean_control": "对照组均值", "mean_treatment": "实验组均值", "effect": "效果",
    "interval_level": "{level}% 区间", "p_adjusted": "校正后 p 值", "plain_words": "结论（英文）",
    "finding": "数据说明了什么",
    "metric_retention": "留存", "metric_repurchase": "复购", "metric_spend": "消费额",
    "metric_clv": "CLV", "metric_p_alive": "存活概率",
    "unit_economics_intro": "各获客渠道的客户获取成本（CAC）、客单价（AOV）和生命周期价值（LTV），毛利多久收回 CAC，"
                            "以及每月新客户的后续复购情况。",
    "models_intro": "上次运行的模型拟合得如何：每个候选模型在未见过的购买上检验、选中模型的参数，以及逐期的保留期跟踪。",
}


def page_labels(lang: str) -> dict[str, str]:
    """The report's labels of ``lang`` with the pages' own ones."""
    return {**labels(lang), **EN, **({} if lang == "en" else ZH)}
