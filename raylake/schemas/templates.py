from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from raylake.schemas.common import Strict


class TemplateColumnIn(Strict):
    column_name: str = Field(description="Column (header) name; unique within the template, any case")
    data_type: str = Field(
        description="String, Integer, Float, Boolean, Date or DateTime (case-insensitive; aliases such as "
        "int, double, bool, timestamp are accepted and stored canonically)"
    )
    default_value: str | None = Field(default=None, description="Must parse as data_type")

    @field_validator("default_value", mode="before")
    @classmethod
    def _scalar_as_text(cls, value: object) -> object:
        """JSON numbers and booleans are accepted and kept as the text a CSV cell would hold."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return value


class TemplateCreate(Strict):
    template_name: str = Field(description="1-128 characters, unique in the tenant (any case)")
    template_schema: list[TemplateColumnIn] = Field(
        default=[], description="Columns in order; may be empty (the schema is inferred later)"
    )
    tenant_id: str | None = Field(default=None, description="Defaults to the caller's tenant")


class TemplateUpdate(Strict):
    template_name: str = Field(description="1-128 characters, unique in the tenant (any case)")
    template_schema: list[TemplateColumnIn] | None = Field(
        default=None, description="Replaces every column when given; omitted keeps them"
    )


class TemplateColumnPublic(BaseModel):
    column_name: str
    data_type: str
    default_value: str | None = None


class TemplateSummary(BaseModel):
    template_name: str
    id: int
    tenant_id: str
    no_of_columns: int
    created_by: str
    created_at: datetime
    modified_at: datetime
    modified_by: str


class TemplatePublic(TemplateSummary):
    template_schema: list[TemplateColumnPublic]


class TemplatesPublic(BaseModel):
    total: int
    data: list[TemplateSummary]


class TemplateCreated(BaseModel):
    status: int = 201
    message: str = "Template created successfully."
    id: int


class TemplateDeleted(BaseModel):
    status_code: int = 200
    message: str = "Template deleted successfully"
