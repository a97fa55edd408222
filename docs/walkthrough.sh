#!/usr/bin/env bash
# The walk-through: every step of raylake's API once, with curl, against a running platform.
# After `make run`: bash docs/walkthrough.sh (tests/api/test_walkthrough.py runs it against the test
# platform, so it cannot drift from the code). It creates the tenant acme and the users janedoe and bob,
# so it runs once per platform (`make stop`, remove .raylake/ and `make run` for a fresh one).
set -euo pipefail

API=${API:-http://127.0.0.1:8000/api/v1}
ADMIN_PW=${ADMIN_PW:-$(cat .raylake/first_superuser_password)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

curl() {  # show each request; any HTTP error status fails the script (its body is printed)
  local prev="" method=GET url="" arg
  for arg in "$@"; do
    [[ $prev == -X ]] && method=$arg
    [[ $arg == http* ]] && url=$arg
    prev=$arg
  done
  printf '\n>> %s %s\n' "$method" "${url#"$API"}" >&2
  local body status=0
  body=$(command curl -sS --fail-with-body "$@") || status=$?
  if ((status)); then printf '%s\n' "$body" >&2; return "$status"; fi
  printf '%s\n' "$body"
}
field() {  # a field of the JSON document on stdin: field key [key...]
  python3 -c 'import sys, json
v = json.load(sys.stdin)
for k in sys.argv[1:]: v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"
}
wait_for() {  # poll a GET (url, jq-free pattern of an ended state) until it matches; prints the last body
  local deadline=$((SECONDS + 600)) body
  until body=$(command curl -sS "$1" -H "$AUTH") && grep -qE "$2" <<<"$body"; do
    ((SECONDS < deadline)) || { echo "timed out waiting for $1: $body" >&2; return 1; }
    sleep 1
  done
  echo "$body"
}
step() { printf '\n### %s\n' "$*" >&2; }

step "Log in (OAuth2 password form). The response also carries a refresh token."
TOKEN=$(curl -X POST $API/login/access-token -d "username=admin&password=$ADMIN_PW" | field access_token)
AUTH="Authorization: Bearer $TOKEN"

curl $API/utils/health-check/                        # {"status":"ok",...}: DB and Ray answer
curl -X POST $API/login/test-token -H "$AUTH"        # who am I

step "A tenant (superusers only) and its first admin user."
TENANT=$(curl -X POST $API/tenants/ -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"name": "acme"}' | field id)
curl -X POST $API/users/create-user -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"tenant_id\": \"$TENANT\", \"first_name\": \"jane\", \"last_name\": \"doe\",
  \"email\": \"jane.doe@example.com\", \"username\": \"janedoe\", \"password\": \"plum-orbit-kettle-42\",
  \"roles\": [\"admin\"]}"

step "Jane works inside acme only."
JANE=$(curl -X POST $API/login/access-token -d "username=janedoe&password=plum-orbit-kettle-42")
JANE_TOKEN=$(echo "$JANE" | field access_token)
JANE_REFRESH=$(echo "$JANE" | field refresh_token)
JAUTH="Authorization: Bearer $JANE_TOKEN"
curl $API/users/read-users/ -H "$JAUTH"              # {"data": [...jane...], "count": 1}
curl $API/validate-token -H "$JAUTH"                 # tenant, permissions, expiry

step "RBAC: a role with chosen permissions, given to a new user."
curl -X POST $API/rbac/roles/ -H "$JAUTH" -H 'Content-Type: application/json' \
  -d '{"name": "analyst", "permissions": ["dataset:read", "train:read"]}'
curl -X POST $API/rbac/permissions/ -H "$JAUTH" -H 'Content-Type: application/json' \
  -d '{"name": "can_train_models"}'
curl $API/rbac/roles/ -H "$JAUTH"
curl $API/rbac/permissions/ -H "$JAUTH"
BOB_ID=$(curl -X POST $API/users/create-user -H "$JAUTH" -H 'Content-Type: application/json' \
  -d '{"email": "bob@example.com", "username": "bob", "password": "quiet-lantern-fig-17"}' | field id)
curl -X POST $API/rbac/users/$BOB_ID/roles -H "$JAUTH" -H 'Content-Type: application/json' \
  -d '{"roles": ["analyst"]}'
curl $API/users/$BOB_ID -H "$JAUTH"

step "Data: a template (the contract), a CSV validated against it, a preview, statistics, the lake."
TEMPLATE_ID=$(curl -X POST $API/template/ -H "$AUTH" -H 'Content-Type: application/json' -d '{
  "template_name": "Telecom Customer Usage",
  "template_schema": [
    {"column_name": "CustomerID", "data_type": "String"},
    {"column_name": "DataUsageGB", "data_type": "Float", "default_value": "0.0"},
    {"column_name": "PlanType", "data_type": "String", "default_value": "Basic"},
    {"column_name": "Churn", "data_type": "Boolean"}]}' | field id)
curl $API/template/list -H "$AUTH"
printf 'CustomerID,DataUsageGB,PlanType,Churn\nCUST-0001,10.5,Premium,False\nCUST-0002,,,True\nCUST-0003,oops,Basic,yes\n' \
  > "$WORK/telecom.csv"
UPLOAD=$(curl -X POST "$API/dataset/upload?dataset_name=telecom_q3&template_id=$TEMPLATE_ID&usage=t" \
  -H "$AUTH" -F "files=@$WORK/telecom.csv")
echo "$UPLOAD"        # 2 of 3 rows usable ("67%"); error_report names row 3's "oops" in DataUsageGB
DATASET_ID=$(echo "$UPLOAD" | field dataset_id)
FILE_ID=$(echo "$UPLOAD" | field files 0 id)
TABLE=$(echo "$UPLOAD" | field iceberg_table_name)
curl $API/dataset/list -H "$AUTH"
curl "$API/dataset/view?dataset_id=$DATASET_ID&limit=10" -H "$AUTH"     # typed rows, defaults filled
curl "$API/files/view?file_id=$FILE_ID" -H "$AUTH"                      # the raw file's first lines
curl "$API/files/download/?file_id=$FILE_ID" -H "$AUTH" -o "$WORK/telecom-copy.csv"
curl -X POST "$API/dataset/generate_statistics?dataset_id=$DATASET_ID" -H "$AUTH"   # a Ray job
# status, percent, per-column stats
wait_for "$API/dataset/statistics?dataset_id=$DATASET_ID" '"status":"(succeeded|failed|cancelled)"' \
  | tee /dev/stderr | grep -q '"status":"succeeded"'
curl $API/datalake/schemas -H "$AUTH"
curl "$API/datalake/schemas/tables?schema_name=silver" -H "$AUTH"
curl "$API/datalake/tables/columns?schema_name=silver&table_name=$TABLE" -H "$AUTH"
curl "$API/datalake/table_metadata?schema_name=silver&table_name=$TABLE" -H "$AUTH"
curl "$API/datalake/numeric_stats?schema_name=silver&table_name=$TABLE&column_name=DataUsageGB" -H "$AUTH"
curl "$API/datalake/distinct-count?schema=silver&table=$TABLE&column=PlanType" -H "$AUTH"

step "Training: a predictor on a larger churn table. Training runs as a Ray job; poll its stage and percent."
python3 - > "$WORK/churn.csv" <<'PY'
import random
random.seed(1)
print("CustomerID,Tenure,Monthly,Plan,Joined,Churn")
for i in range(500):
    tenure, plan = random.randint(1, 72), random.choice(["Basic", "Premium", "Gold"])
    churn = (tenure < 20 and plan == "Basic") or random.random() < 0.1
    joined = f"20{random.randint(18, 24)}-{random.randint(1, 12):02d}-{random.randint(1, 28):02d}"
    print(f"C{i},{tenure},{random.uniform(10, 120):.2f},{plan},{joined},{churn}")
PY
CHURN_ID=$(curl -X POST "$API/dataset/upload?dataset_name=churn&usage=t" -H "$AUTH" \
  -F "files=@$WORK/churn.csv" | field dataset_id)
curl -X POST $API/train/get_details -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"dataset_id\": $CHURN_ID, \"problem_type\": \"Classification\"}"   # columns, attributes, algorithms
TRAIN_ID=$(curl -X POST $API/train/ -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"dataset_id\": $CHURN_ID, \"predictor_name\": \"churn_v1\", \"domain\": \"Churn\",
  \"problem_type\": \"Classification\", \"algorithm\": \"LightGBM\", \"shap_enabled\": true,
  \"columns\": [{\"column_name\": \"CustomerID\", \"attribute_name\": \"Id\"},
              {\"column_name\": \"Churn\", \"attribute_name\": \"Target\"}]}" | field id)
wait_run() {  # until a training run ends (it must complete); prints its stage and percent meanwhile
  local deadline=$((SECONDS + 600)) run
  while true; do
    run=$(curl $API/train/get/$1 -H "$AUTH" 2>/dev/null)
    echo "$run" | python3 -c 'import sys, json; r = json.load(sys.stdin); print(r["train_status"], r["stage"], r["percent"])' >&2
    grep -qE '"train_status":"(completed|failed|cancelled)"' <<<"$run" && break
    ((SECONDS < deadline)) || { echo "timed out waiting for run $1" >&2; return 1; }
    sleep 1
  done
  grep -q '"train_status":"completed"' <<<"$run" || { echo "run $1 did not complete: $run" >&2; return 1; }
}
wait_run $TRAIN_ID
curl "$API/train/model-summary?train_id=$TRAIN_ID" -H "$AUTH"     # accuracy, f1, roc_auc, confusion matrix
curl $API/train/download-schema/$TRAIN_ID -H "$AUTH"             # the input schema
# SHAP runs after training (shap_enabled): mean |SHAP| per column once it has ended
wait_for "$API/train/view-feature-importance?train_id=$TRAIN_ID" '"status":"(completed|failed|cancelled)"'
curl $API/train/list -H "$AUTH"

step "Automatic search: Ray Tune over algorithms and hyper-parameters within a time budget; every trial is kept."
AUTO_ID=$(curl -X POST $API/train/ -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"dataset_id\": $CHURN_ID, \"predictor_name\": \"churn_auto\", \"domain\": \"Churn\",
  \"problem_type\": \"Classification\", \"algorithm\": \"auto\", \"time_budget_s\": 30,
  \"columns\": [{\"column_name\": \"CustomerID\", \"attribute_name\": \"Id\"},
              {\"column_name\": \"Churn\", \"attribute_name\": \"Target\"}]}" | field id)
wait_run $AUTO_ID
curl $API/train/get/$AUTO_ID -H "$AUTH" | python3 -c \
  'import sys, json; r = json.load(sys.stdin); print(r["model_algorithm"], len(r["trials"]), "trials")'

step "Inference: the form, one row, many rows with explanations (a model replica on Ray Serve answers)."
PREPROCESS_ID=$(curl $API/train/get/$TRAIN_ID -H "$AUTH" | field preprocess_id)
curl "$API/inference/form-based-prediction?id=$TRAIN_ID" -H "$AUTH"
curl -X POST $API/inference/ -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"train_id\": $TRAIN_ID, \"preprocess_id\": $PREPROCESS_ID, \"target\": \"Churn\",
  \"features\": {\"Tenure\": \"5\", \"Monthly\": 20.5, \"Plan\": \"Basic\", \"Joined\": \"2020-01-15\"}}"
curl -X POST $API/inference/ -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"train_id\": $TRAIN_ID, \"explain\": true, \"instances\": [
    {\"Tenure\": 5, \"Monthly\": 20.5, \"Plan\": \"Basic\", \"Joined\": \"2020-01-15\"},
    {\"Tenure\": 60, \"Monthly\": 99, \"Plan\": \"Gold\", \"Joined\": \"2019-05-01\"}]}"

step "Batch: the model's replica predicts the dataset (a Ray Data job above RAYLAKE_BATCH_REPLICA_MAX_ROWS);
the output is an Iceberg gold table and a downloadable CSV."
PREDICTION_ID=$(curl -X POST $API/inference/batchPrediction -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"train_id\": $TRAIN_ID, \"dataset_id\": $CHURN_ID}" | field prediction_id)
RESULT=$(wait_for "$API/inference/result?prediction_id=$PREDICTION_ID" '"status":"(completed|failed|cancelled)"')
echo "$RESULT"
grep -q '"status":"completed"' <<<"$RESULT"
RESULT_FILE=$(echo "$RESULT" | field file_id)
curl "$API/files/download/?file_id=$RESULT_FILE" -H "$AUTH" -o predictions.csv
head -3 predictions.csv                                  # CustomerID,prediction,probability
curl "$API/inference/predictions?train_id=$TRAIN_ID" -H "$AUTH"           # the prediction log

step "A dedicated deployment for one version (its own Serve application and replicas), then back to the pool."
curl -X POST "$API/inference/deploy?train_id=$TRAIN_ID&replicas=1" -H "$AUTH"
curl -X DELETE "$API/inference/deploy?train_id=$TRAIN_ID" -H "$AUTH"

step "The model registry: churn_v1 is a registered model (the default project) whose runs are its versions.
Train v2 from the registry, name it production, describe it and predict by its alias."
MODEL_ID=$(curl "$API/models?search=churn_v1&latest_only=true" -H "$AUTH" | field items 0 id)
curl -X PATCH $API/models/$MODEL_ID -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"description": "Who leaves next quarter", "tags": ["churn", "retention"]}'
curl -X POST $API/models/$MODEL_ID/train -H "$AUTH" -H 'Content-Type: application/json' -d '{}'  # 202: training
wait_for "$API/models/$MODEL_ID" '"status":"(trained|failed)"' | grep -q '"status":"trained"'
curl -X PUT $API/models/$MODEL_ID/aliases/production -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"version": "v2"}'
curl $API/models/$MODEL_ID/versions -H "$AUTH"
curl $API/models/$MODEL_ID/versions/production/describe -H "$AUTH"   # features, performance, JSON Schemas
curl -X POST $API/models/$MODEL_ID/versions/production/infer -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"Tenure": 5, "Monthly": 20.5, "Plan": "Basic", "Joined": "2020-01-15"}'   # {"prediction": ..., ...}

step "Monitoring: every prediction is captured in the lake, and each answer's capture_id names its row.
True outcomes sent back as feedback give live accuracy per version and day against the test figures (a drop
past feedback.max_drop over feedback.min_rows labels marks the model degraded); drift compares the captured
inputs with the version's training baseline."
CAPTURE_ID=$(curl -X POST $API/models/$MODEL_ID/versions/production/infer -H "$AUTH" \
  -H 'Content-Type: application/json' \
  -d '{"CustomerID": "C-1001", "Tenure": 3, "Monthly": 80, "Plan": "Basic", "Joined": "2024-02-01"}' \
  | field capture_id)
curl "$API/models/$MODEL_ID/predictions?limit=2" -H "$AUTH"      # newest first: inputs, outputs, caller
curl -X PATCH $API/models/$MODEL_ID -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"feedback": {"metric": "accuracy", "max_drop": 0.1, "min_rows": 50}}'
curl -X POST $API/models/$MODEL_ID/feedback -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"labels\": [{\"capture_id\": \"$CAPTURE_ID\", \"label\": true}]}"   # live accuracy, per day
curl "$API/models/$MODEL_ID/drift?window=24h" -H "$AUTH"   # per-input scores; insufficient_data below min_rows

step "Models trained elsewhere: the model factory reads the churn table's columns; a scikit-learn pipeline
saved with skops (never pickle) is uploaded, registered with its signature, served, explained, and given a
surrogate whose TreeSHAP explains it afterwards."
curl -X POST $API/models/factory -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"dataset_id\": $CHURN_ID, \"max_cardinality\": 20}"    # per column: type, min, max, categories, bins
python3 - "$WORK/churn.csv" "$WORK/churn_pipeline.skops" <<'PY'
import sys
import polars as pl, skops.io
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
frame = pl.read_csv(sys.argv[1]).drop_nulls(["Monthly"]).to_pandas()
pipeline = make_pipeline(
    ColumnTransformer([("plan", OneHotEncoder(handle_unknown="ignore"), ["Plan"])], remainder="passthrough"),
    RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0),
).fit(frame[["Tenure", "Monthly", "Plan"]], frame["Churn"])
skops.io.dump(pipeline, sys.argv[2])
PY
EXTERNAL_ID=$(curl -X POST $API/models -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"name": "churn_external", "task": "binary_classification", "target": "Churn"}' | field id)
ARTIFACT_ID=$(curl -X POST $API/models/$EXTERNAL_ID/artifacts -H "$AUTH" \
  -F "file=@$WORK/churn_pipeline.skops" -F file_kind=model | field id)   # format: skops, sha256, size
curl -X POST $API/models/$EXTERNAL_ID/versions -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"artifact_id\": $ARTIFACT_ID, \"class_order\": [\"false\", \"true\"],
  \"inputs\": [{\"name\": \"Tenure\", \"data_type\": \"Integer\"}, {\"name\": \"Monthly\", \"data_type\": \"Float\"},
              {\"name\": \"Plan\", \"data_type\": \"String\"}]}"     # loaded and probed first: v1, completed
curl -X POST $API/models/$EXTERNAL_ID/versions/v1/infer -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"Tenure": 5, "Monthly": 20.5, "Plan": "Basic"}'
EXTERNAL_RUN=$(curl $API/models/$EXTERNAL_ID/versions/v1 -H "$AUTH" | field train_id)
curl -X POST $API/inference/ -H "$AUTH" -H 'Content-Type: application/json' -d "{\"train_id\": $EXTERNAL_RUN,
  \"features\": {\"Tenure\": 5, \"Monthly\": 20.5, \"Plan\": \"Basic\"}, \"explain\": true}"  # kernel_shap
curl -X POST $API/models/$EXTERNAL_ID/surrogate -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"dataset_id\": $CHURN_ID}"                                   # 202: a Ray job fits it
wait_for "$API/models/$EXTERNAL_ID/surrogate" '"status":"(completed|failed)"' | grep -q '"status":"completed"'
curl $API/models/$EXTERNAL_ID/surrogate -H "$AUTH"                    # fidelity: agreement on held-out rows
curl -X POST $API/inference/ -H "$AUTH" -H 'Content-Type: application/json' -d "{\"train_id\": $EXTERNAL_RUN,
  \"features\": {\"Tenure\": 5, \"Monthly\": 20.5, \"Plan\": \"Basic\"}, \"explain\": true}"  # surrogate_tree_shap

step "Deployments: the external version gets replicas of its own, with status from Serve, predictions and an
operations log; a placement no node of the cluster can meet is refused up front (422 naming it)."
command curl -sS -X POST $API/deployments -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"model_id\": $EXTERNAL_ID, \"placement\": {\"resources\": {\"gpu_zone\": 1}}}"; echo   # 422
DEPLOYMENT_ID=$(curl -X POST $API/deployments -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"model_id\": $EXTERNAL_ID, \"version\": \"v1\", \"replicas\": 1}" | field id)
wait_for "$API/deployments/$DEPLOYMENT_ID" '"status":"(running|failed|unhealthy)"' | grep -q '"status":"running"'
curl $API/deployments/$DEPLOYMENT_ID -H "$AUTH"                       # ready/target replicas, their nodes
curl -X POST $API/deployments/$DEPLOYMENT_ID/predict -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"rows": [{"Tenure": 5, "Monthly": 20.5, "Plan": "Basic"}], "explain": true}'
curl "$API/deployments/$DEPLOYMENT_ID/operations" -H "$AUTH"          # caller, status, latency, rows
curl -X DELETE $API/deployments/$DEPLOYMENT_ID -H "$AUTH"

step "Forecasting: daily sales of two stores with a promotion flag; the backtest picks the model."
python3 - > "$WORK/sales.csv" <<'PY'
import datetime, math, random
random.seed(2)
print("Store,Day,Sales,Promo")
for store, level in (("north", 120), ("south", 300)):
    for d in range(120):
        day = datetime.date(2024, 1, 1) + datetime.timedelta(days=d)
        promo = int(d % 9 == 0)
        sales = level * (1 + 0.3 * math.sin(2 * math.pi * day.weekday() / 7)) * (1.4 if promo else 1)
        print(f"{store},{day},{sales + random.gauss(0, 4):.2f},{promo}")
PY
SALES_ID=$(curl -X POST "$API/dataset/upload?dataset_name=sales&usage=t" -H "$AUTH" \
  -F "files=@$WORK/sales.csv" | field dataset_id)
FORECASTER_ID=$(curl -X POST $API/train/ -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"dataset_id\": $SALES_ID, \"predictor_name\": \"sales_forecast\", \"domain\": \"Retail\",
  \"problem_type\": \"Forecasting\", \"forecast_horizon\": 7, \"interval_level\": 0.9,
  \"columns\": [{\"column_name\": \"Store\", \"attribute_name\": \"Id\"},
              {\"column_name\": \"Day\", \"attribute_name\": \"Time\"},
              {\"column_name\": \"Sales\", \"attribute_name\": \"Target\"},
              {\"column_name\": \"Promo\", \"attribute_name\": \"Feature\"}]}" | field id)
wait_run $FORECASTER_ID
curl $API/train/get/$FORECASTER_ID -H "$AUTH" | python3 -c \
  'import sys, json; m = json.load(sys.stdin)["metrics"]; print(m["model"], "MASE", m["mase"], "coverage", m["interval_coverage"])'
curl -X POST $API/inference/forecast -H "$AUTH" -H 'Content-Type: application/json' -d "{
  \"train_id\": $FORECASTER_ID, \"steps\": 3, \"frequency\": \"Day\", \"unique_id\": \"north\",
  \"exogenous\": [{\"Day\": \"2024-04-30\", \"Promo\": 1}, {\"Day\": \"2024-05-01\", \"Promo\": 0},
                  {\"Day\": \"2024-05-02\", \"Promo\": 0}]}"       # [{date, value, lower, upper, confidence}]

step "Rotate the refresh token (re-using the old one afterwards revokes the whole login), then log out."
NEW=$(curl -X POST $API/refresh -H 'Content-Type: application/json' -d "{\"refresh_token\": \"$JANE_REFRESH\"}")
NEW_REFRESH=$(echo "$NEW" | field refresh_token)
curl -X POST $API/logout -H 'Content-Type: application/json' -d "{\"refresh_token\": \"$NEW_REFRESH\"}"

step "Change your own password (JSON body keeps it out of URLs; the reference's query form also works)."
# Jane proves her current password; every login of hers ends, so she logs in again with the new one.
JANE_TOKEN=$(curl -X POST $API/login/access-token -d "username=janedoe&password=plum-orbit-kettle-42" \
  | field access_token)
curl -X POST $API/reset-password -H "Authorization: Bearer $JANE_TOKEN" -H 'Content-Type: application/json' \
  -d '{"user_name": "janedoe", "new_password": "amber-tundra-violin-58", "current_password": "plum-orbit-kettle-42"}'
curl -X POST $API/login/access-token -d "username=janedoe&password=amber-tundra-violin-58" > /dev/null
printf '\nThe walk-through ran to its end.\n' >&2
