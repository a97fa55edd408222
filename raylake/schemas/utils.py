from pydantic import BaseModel


class Health(BaseModel):
    status: str
    message: str
    database: str
    ray: str
