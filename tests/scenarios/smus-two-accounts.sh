#!/usr/bin/env bash
# The SageMaker Unified Studio two-account set-up of the admin guide, with the AWS CLI only.
#
# Written as for real accounts: three named profiles (the organization's management
# account, the domain account, the associated account), no emulator-specific flag; point
# AWS_ENDPOINT_URL at the emulator to run it there (tests/emulator/test_cli_scenario.py).
#
#   MANAGEMENT_PROFILE  enables RAM sharing with AWS Organizations     (default: smus-management)
#   DOMAIN_PROFILE      the domain account: domain, producer project  (default: smus-domain)
#   CONSUMER_PROFILE    the associated account: consumer project      (default: smus-consumer)
#   AWS_REGION          (default: us-east-1)
#   NAME                prefix of everything created                  (default: smusdemo)
#   POLL_SECONDS        pause between two reads of a wait             (default: 10)
#   MAX_POLLS           reads before a wait gives up                  (default: 90)
#
# Steps: sample data with Athena (CREATE DATABASE, CREATE EXTERNAL TABLE, INSERT INTO), Lake
# Formation-only; the domain roles and an IAM-based V2 domain; the domain account's
# blueprints and their policy grants; the domain shared with the associated account
# through an ORG-ONLY RAM share (no invitation inside the organization); the associated
# account's roles, bucket, blueprints and grants; two project profiles and their grant;
# a producer and a consumer project, deployed; Lake Formation grants that let DataZone
# import the table. Prints KEY=value lines at the end.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too

MANAGEMENT_PROFILE=${MANAGEMENT_PROFILE:-smus-management}
DOMAIN_PROFILE=${DOMAIN_PROFILE:-smus-domain}
CONSUMER_PROFILE=${CONSUMER_PROFILE:-smus-consumer}
REGION=${AWS_REGION:-us-east-1}
NAME=${NAME:-smusdemo}
POLL_SECONDS=${POLL_SECONDS:-10}
MAX_POLLS=${MAX_POLLS:-90}

export AWS_DEFAULT_OUTPUT=text

log() { echo "--- $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

as_management() { aws --profile "$MANAGEMENT_PROFILE" --region "$REGION" "$@"; }
as_domain() { aws --profile "$DOMAIN_PROFILE" --region "$REGION" "$@"; }
as_consumer() { aws --profile "$CONSUMER_PROFILE" --region "$REGION" "$@"; }

# wait_for WHAT WANTED FAILED COMMAND...: run COMMAND (which prints one status) until it
# prints WANTED; stop at once on a status matching the FAILED pattern.
wait_for() {
    local what=$1 wanted=$2 failed=$3 status=""
    shift 3
    for _ in $(seq "$MAX_POLLS"); do
        status=$("$@")
        if [ "$status" = "$wanted" ]; then
            log "$what: $status"
            return 0
        fi
        if [[ $status =~ ^($failed)$ ]]; then
            die "$what: $status"
        fi
        sleep "$POLL_SECONDS"
    done
    die "$what: still $status after $MAX_POLLS reads"
}

DOMAIN_ACCOUNT=$(as_domain sts get-caller-identity --query Account)
CONSUMER_ACCOUNT=$(as_consumer sts get-caller-identity --query Account)
# The role this script runs as in the domain account (its assumed-role session, as a role).
ADMIN_ROLE=$(as_domain sts get-caller-identity --query Arn |
    sed -E 's#^arn:aws:sts::([0-9]{12}):assumed-role/([^/]+)/.*$#arn:aws:iam::\1:role/\2#')
log "domain account $DOMAIN_ACCOUNT, associated account $CONSUMER_ACCOUNT, as $ADMIN_ROLE"

DATA_BUCKET="$NAME-data-$DOMAIN_ACCOUNT-$REGION"
RESULTS_BUCKET="$NAME-athena-$DOMAIN_ACCOUNT-$REGION"
DATABASE="${NAME}_retail"
TABLE=inventory

# --- 1. sample data, made with Athena, under Lake Formation only --------------------------------

# Lake Formation only from the start: this role administers the data lake, and new
# databases and tables give IAMAllowedPrincipals nothing (empty default permissions).
log "Lake Formation administrator: $ADMIN_ROLE"
as_domain lakeformation put-data-lake-settings --data-lake-settings "{
    \"DataLakeAdmins\": [{\"DataLakePrincipalIdentifier\": \"$ADMIN_ROLE\"}],
    \"CreateDatabaseDefaultPermissions\": [], \"CreateTableDefaultPermissions\": []}"

as_domain s3api create-bucket --bucket "$DATA_BUCKET" >/dev/null
as_domain s3api create-bucket --bucket "$RESULTS_BUCKET" >/dev/null

query_state() {
    as_domain athena get-query-execution --query-execution-id "$1" \
        --query QueryExecution.Status.State
}

athena() {
    local id
    id=$(as_domain athena start-query-execution --query-string "$1" \
        --result-configuration "OutputLocation=s3://$RESULTS_BUCKET/results/" \
        --query QueryExecutionId)
    wait_for "query $id" SUCCEEDED "FAILED|CANCELLED" query_state "$id"
    echo "$id"
}

athena "CREATE DATABASE IF NOT EXISTS $DATABASE COMMENT 'Retail sample data'
  LOCATION 's3://$DATA_BUCKET/retail/'" >/dev/null
athena "CREATE EXTERNAL TABLE IF NOT EXISTS $DATABASE.$TABLE (
  sku string,
  product string,
  warehouse string,
  quantity int,
  unit_price double)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
LOCATION 's3://$DATA_BUCKET/retail/$TABLE/'" >/dev/null
athena "INSERT INTO $DATABASE.$TABLE VALUES
  ('A-1001', 'espresso beans 1kg', 'lisbon', 140, 18.5),
  ('A-1002', 'oat milk 1l', 'lisbon', 310, 2.2),
  ('B-2001', 'espresso beans 1kg', 'porto', 95, 18.5),
  ('B-2002', 'paper cups 12oz', 'porto', 4200, 0.04),
  ('C-3001', 'oat milk 1l', 'faro', 120, 2.2)" >/dev/null

log "$DATABASE.$TABLE: its location registered with Lake Formation"
as_domain lakeformation register-resource --resource-arn "arn:aws:s3:::$DATA_BUCKET" \
    --use-service-linked-role --no-hybrid-access-enabled

# --- 2. the domain ----------------------------------------------------------------------------------

datazone_trust() { # SOURCE_ACCOUNT [SOURCE_ARN] [EXTRA_ACTIONS]
    local condition="\"StringEquals\": {\"aws:SourceAccount\": \"$1\"}"
    if [ -n "${2:-}" ]; then
        condition="$condition, \"ArnEquals\": {\"aws:SourceArn\": \"$2\"}"
    fi
    cat <<EOF
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"Service": "datazone.amazonaws.com"},
  "Action": ["sts:AssumeRole"${3:-}], "Condition": {$condition}}]}
EOF
}

create_role() { # AS NAME PATH TRUST POLICY...: prints the role's ARN
    local as=$1 name=$2 path=$3 trust=$4 arn
    shift 4
    arn=$("$as" iam create-role --role-name "$name" --path "$path" \
        --assume-role-policy-document "$trust" --query Role.Arn)
    for policy in "$@"; do
        "$as" iam attach-role-policy --role-name "$name" \
            --policy-arn "arn:aws:iam::aws:policy/$policy"
    done
    echo "$arn"
}

log "domain roles"
EXECUTION_ROLE=$(create_role as_domain "AmazonSageMakerDomainExecution-$NAME" /service-role/ \
    "$(datazone_trust "$DOMAIN_ACCOUNT" "" ', "sts:TagSession", "sts:SetContext"')" \
    service-role/SageMakerStudioDomainExecutionRolePolicy)
SERVICE_ROLE=$(create_role as_domain "AmazonSageMakerDomainService-$NAME" /service-role/ \
    "$(datazone_trust "$DOMAIN_ACCOUNT")" service-role/SageMakerStudioDomainServiceRolePolicy)

DOMAIN_ID=$(as_domain datazone create-domain --name "$NAME" --domain-version V2 \
    --domain-execution-role "$EXECUTION_ROLE" --service-role "$SERVICE_ROLE" \
    --single-sign-on type=DISABLED --query id)
domain_status() { as_domain datazone get-domain --identifier "$DOMAIN_ID" --query status; }
wait_for "domain $DOMAIN_ID" AVAILABLE "CREATION_FAILED" domain_status
DOMAIN_FIELDS=$(as_domain datazone get-domain --identifier "$DOMAIN_ID" \
    --query '[arn, rootDomainUnitId]')
read -r DOMAIN_ARN ROOT_UNIT <<<"$DOMAIN_FIELDS"

# --- 3. an account's blueprints (run with that account's own credentials) ---------------------------

enable_blueprints() { # AS ACCOUNT: prints "TOOLING_ID DATALAKE_ID"
    local as=$1 account=$2
    local provisioning manage_access bucket vpc subnets tooling datalake
    provisioning=$(create_role "$as" "AmazonSageMakerProvisioning-$DOMAIN_ACCOUNT" /service-role/ \
        "$(datazone_trust "$DOMAIN_ACCOUNT")" \
        service-role/SageMakerStudioProjectProvisioningRolePolicy)
    manage_access=$(create_role "$as" "AmazonSageMakerManageAccess-$REGION-$DOMAIN_ID" \
        /service-role/ "$(datazone_trust "$DOMAIN_ACCOUNT" "$DOMAIN_ARN")" \
        service-role/AmazonDataZoneGlueManageAccessRolePolicy \
        service-role/AmazonDataZoneRedshiftManageAccessRolePolicy \
        AmazonDataZoneSageMakerManageAccessRolePolicy)
    bucket="amazon-sagemaker-$account-$REGION-${DOMAIN_ID#dzd_}"
    "$as" s3api create-bucket --bucket "$bucket" >/dev/null
    vpc=$("$as" ec2 describe-vpcs --filters Name=is-default,Values=true \
        --query 'Vpcs[0].VpcId')
    subnets=$("$as" ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc" \
        --query 'Subnets[].SubnetId' | tr '\t' ',')
    tooling=$("$as" datazone list-environment-blueprints --domain-identifier "$DOMAIN_ID" \
        --managed --name Tooling --query 'items[0].id')
    datalake=$("$as" datazone list-environment-blueprints --domain-identifier "$DOMAIN_ID" \
        --managed --name DataLake --query 'items[0].id')
    for blueprint in "$tooling" "$datalake"; do
        "$as" datazone put-environment-blueprint-configuration --domain-identifier "$DOMAIN_ID" \
            --environment-blueprint-identifier "$blueprint" --enabled-regions "$REGION" \
            --provisioning-role-arn "$provisioning" --manage-access-role-arn "$manage_access" \
            --regional-parameters "{\"$REGION\": {\"S3Location\": \"s3://$bucket\",
                \"VpcId\": \"$vpc\", \"Subnets\": \"$subnets\"}}" >/dev/null
        "$as" datazone add-policy-grant --domain-identifier "$DOMAIN_ID" \
            --entity-type ENVIRONMENT_BLUEPRINT_CONFIGURATION \
            --entity-identifier "$account:$blueprint" \
            --policy-type CREATE_ENVIRONMENT_FROM_BLUEPRINT \
            --detail '{"createEnvironmentFromBlueprint": {}}' \
            --principal "{\"project\": {\"projectDesignation\": \"CONTRIBUTOR\",
                \"projectGrantFilter\": {\"domainUnitFilter\": {
                \"domainUnit\": \"$ROOT_UNIT\", \"includeChildDomainUnits\": true}}}}" >/dev/null
    done
    echo "$tooling $datalake"
}

log "domain account blueprints"
BLUEPRINTS=$(enable_blueprints as_domain "$DOMAIN_ACCOUNT")
read -r PRODUCER_TOOLING PRODUCER_DATALAKE <<<"$BLUEPRINTS"
PRODUCER_MANAGE_ACCESS="arn:aws:iam::$DOMAIN_ACCOUNT:role/service-role/AmazonSageMakerManageAccess-$REGION-$DOMAIN_ID"

# --- 4. the associated account: an ORG-ONLY share, then its own blueprints ----------------------------

log "RAM: sharing with the organization enabled (management account)"
as_management ram enable-sharing-with-aws-organization >/dev/null

SHARE_ARN=$(as_domain ram create-resource-share --name "DataZone-$NAME-$DOMAIN_ID" \
    --resource-arns "$DOMAIN_ARN" --principals "$CONSUMER_ACCOUNT" \
    --permission-arns \
    arn:aws:ram::aws:permission/AWSRAMPermissionsAmazonDatazoneDomainExtendedServiceAccess \
    --no-allow-external-principals --query resourceShare.resourceShareArn)
association_status() {
    as_domain ram get-resource-share-associations --association-type PRINCIPAL \
        --resource-share-arns "$SHARE_ARN" --principal "$CONSUMER_ACCOUNT" \
        --query 'resourceShareAssociations[0].status'
}
wait_for "RAM association of $CONSUMER_ACCOUNT" ASSOCIATED "FAILED|DISASSOCIATED" \
    association_status
INVITATIONS=$(as_consumer ram get-resource-share-invitations \
    --resource-share-arns "$SHARE_ARN" --query 'length(resourceShareInvitations)')

log "associated account blueprints"
BLUEPRINTS=$(enable_blueprints as_consumer "$CONSUMER_ACCOUNT")
read -r CONSUMER_TOOLING CONSUMER_DATALAKE <<<"$BLUEPRINTS"

# --- 5. project profiles, their grant, the projects ---------------------------------------------------

profile_configurations() { # ACCOUNT TOOLING DATALAKE
    cat <<EOF
[{"name": "Tooling", "environmentBlueprintId": "$2", "deploymentMode": "ON_CREATE",
  "deploymentOrder": 0, "awsAccount": {"awsAccountId": "$1"},
  "awsRegion": {"regionName": "$REGION"},
  "configurationParameters": {"parameterOverrides": [
    {"name": "enableSpaces", "value": "false", "isEditable": false}]}},
 {"name": "Lakehouse Database", "environmentBlueprintId": "$3", "deploymentMode": "ON_CREATE",
  "deploymentOrder": 1, "awsAccount": {"awsAccountId": "$1"},
  "awsRegion": {"regionName": "$REGION"}}]
EOF
}

log "project profiles"
PRODUCER_PROFILE=$(as_domain datazone create-project-profile --domain-identifier "$DOMAIN_ID" \
    --name "$NAME-producer" --status ENABLED --domain-unit-identifier "$ROOT_UNIT" \
    --environment-configurations \
    "$(profile_configurations "$DOMAIN_ACCOUNT" "$PRODUCER_TOOLING" "$PRODUCER_DATALAKE")" \
    --query id)
CONSUMER_PROFILE=$(as_domain datazone create-project-profile --domain-identifier "$DOMAIN_ID" \
    --name "$NAME-consumer" --status ENABLED --domain-unit-identifier "$ROOT_UNIT" \
    --environment-configurations \
    "$(profile_configurations "$CONSUMER_ACCOUNT" "$CONSUMER_TOOLING" "$CONSUMER_DATALAKE")" \
    --query id)
as_domain datazone add-policy-grant --domain-identifier "$DOMAIN_ID" \
    --entity-type DOMAIN_UNIT --entity-identifier "$ROOT_UNIT" \
    --policy-type CREATE_PROJECT_FROM_PROJECT_PROFILE \
    --detail "{\"createProjectFromProjectProfile\": {
        \"projectProfiles\": [\"$PRODUCER_PROFILE\", \"$CONSUMER_PROFILE\"],
        \"includeChildDomainUnits\": true}}" \
    --principal '{"user": {"allUsersGrantFilter": {}}}' >/dev/null

deployment_status() {
    as_domain datazone get-project --domain-identifier "$DOMAIN_ID" --identifier "$1" \
        --query environmentDeploymentDetails.overallDeploymentStatus
}

log "projects"
PRODUCER_PROJECT=$(as_domain datazone create-project --domain-identifier "$DOMAIN_ID" \
    --name producer --project-profile-id "$PRODUCER_PROFILE" --query id)
CONSUMER_PROJECT=$(as_domain datazone create-project --domain-identifier "$DOMAIN_ID" \
    --name consumer --project-profile-id "$CONSUMER_PROFILE" --query id)
for project in "$PRODUCER_PROJECT" "$CONSUMER_PROJECT"; do
    wait_for "project $project" SUCCESSFUL "FAILED_VALIDATION|FAILED_DEPLOYMENT" \
        deployment_status "$project"
done

# --- 6. Lake Formation grants so that DataZone can import the table ---------------------------------

TOOLING_ENV=$(as_domain datazone list-environments --domain-identifier "$DOMAIN_ID" \
    --project-identifier "$PRODUCER_PROJECT" --name Tooling --query 'items[0].id')
PRODUCER_ROLE=$(as_domain datazone get-environment --domain-identifier "$DOMAIN_ID" \
    --identifier "$TOOLING_ENV" --query "provisionedResources[?name=='userRoleArn'].value | [0]")

log "Lake Formation grants to $PRODUCER_ROLE and the manage-access role"
TABLE_RESOURCE="{\"Table\": {\"DatabaseName\": \"$DATABASE\", \"Name\": \"$TABLE\"}}"
as_domain lakeformation grant-permissions \
    --principal "DataLakePrincipalIdentifier=$PRODUCER_ROLE" --resource "$TABLE_RESOURCE" \
    --permissions ALL --permissions-with-grant-option ALL
as_domain lakeformation grant-permissions \
    --principal "DataLakePrincipalIdentifier=$PRODUCER_MANAGE_ACCESS" \
    --resource "{\"Database\": {\"Name\": \"$DATABASE\"}}" \
    --permissions DESCRIBE --permissions-with-grant-option DESCRIBE
as_domain lakeformation grant-permissions \
    --principal "DataLakePrincipalIdentifier=$PRODUCER_MANAGE_ACCESS" \
    --resource "$TABLE_RESOURCE" \
    --permissions DESCRIBE SELECT --permissions-with-grant-option DESCRIBE SELECT

COUNT_QUERY=$(athena "SELECT count(*) FROM $DATABASE.$TABLE")
ROWS=$(as_domain athena get-query-results --query-execution-id "$COUNT_QUERY" \
    --query 'ResultSet.Rows[1].Data[0].VarCharValue')

cat <<EOF
DOMAIN_ID=$DOMAIN_ID
SHARE_ARN=$SHARE_ARN
INVITATIONS=$INVITATIONS
PRODUCER_PROJECT=$PRODUCER_PROJECT
CONSUMER_PROJECT=$CONSUMER_PROJECT
PRODUCER_ROLE=$PRODUCER_ROLE
DATABASE=$DATABASE
TABLE=$TABLE
ROWS=$ROWS
EOF
