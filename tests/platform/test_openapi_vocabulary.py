"""Responses name the vocabulary's enums, so the OpenAPI document lists the values a client may see."""

from __future__ import annotations

from raylake.platform.app import create_app


def test_openapi_lists_the_allowed_values(settings) -> None:
    schemas = create_app(settings).openapi()["components"]["schemas"]
    assert schemas["ProblemType"]["enum"] == ["Classification", "Regression", "Forecasting"]
    assert schemas["ColumnAttribute"]["enum"] == ["Id", "Target", "Feature", "Time", "Ignore"]
    assert schemas["DataType"]["enum"] == ["String", "Integer", "Float", "Boolean", "Date", "DateTime"]
    assert "completed" in schemas["JobStatus"]["enum"]
    assert schemas["TrainPublic"]["properties"]["problem_type"] == {
        "$ref": "#/components/schemas/ProblemType"
    }
    assert schemas["BatchResult"]["properties"]["status"] == {"$ref": "#/components/schemas/JobStatus"}
