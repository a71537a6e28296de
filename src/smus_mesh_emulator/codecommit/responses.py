"""The CodeCommit API: moto's, plus ListRepositories and repository tags."""

from __future__ import annotations

from typing import Any

from moto.codecommit.responses import CodeCommitResponse
from moto.core.responses import ActionResult

from smus_mesh_emulator.codecommit.exceptions import (
    InvalidContinuationTokenException,
    InvalidOrderException,
    InvalidResourceArnException,
    InvalidSortByException,
    RepositoryDoesNotExistException,
)
from smus_mesh_emulator.codecommit.models import set_tags, tags_of
from smus_mesh_emulator.paging import page

#: Repositories per ListRepositories page, as documented in the botocore model.
PAGE_SIZE = 1000


class RepositoryListingResponse(CodeCommitResponse):
    """moto's CodeCommit plus ListRepositories and repository tags."""

    def create_repository(self) -> Any:
        result = super().create_repository()
        name = self._get_param("repositoryName")
        repository = self.codecommit_backend.repositories.get(name)
        if repository is not None and self._get_param("tags"):
            set_tags(repository, dict(self._get_param("tags")))
        return result

    def _repository_by_arn(self, arn: str) -> Any:
        if not arn or not arn.startswith("arn:aws:codecommit:"):
            raise InvalidResourceArnException(f"The value for the resource ARN is not valid: {arn}")
        for repository in self.codecommit_backend.repositories.values():
            if repository.repository_metadata.get("Arn") == arn:
                return repository
        raise RepositoryDoesNotExistException(f"{arn.rsplit(':', 1)[-1]} does not exist")

    def tag_resource(self) -> ActionResult:
        repository = self._repository_by_arn(self._get_param("resourceArn"))
        set_tags(repository, dict(self._get_param("tags") or {}))
        return ActionResult({})

    def untag_resource(self) -> ActionResult:
        repository = self._repository_by_arn(self._get_param("resourceArn"))
        keys = set(self._get_param("tagKeys") or [])
        repository.smus_tags = {k: v for k, v in tags_of(repository).items() if k not in keys}
        return ActionResult({})

    def list_tags_for_resource(self) -> ActionResult:
        repository = self._repository_by_arn(self._get_param("resourceArn"))
        return ActionResult({"tags": tags_of(repository)})

    def list_repositories(self) -> ActionResult:
        sort_by = self._get_param("sortBy") or "repositoryName"
        order = self._get_param("order") or "ascending"
        if sort_by not in ("repositoryName", "lastModifiedDate"):
            raise InvalidSortByException(f"The specified sort by value {sort_by} is not valid.")
        if order not in ("ascending", "descending"):
            raise InvalidOrderException(f"The specified sort order {order} is not valid.")
        repositories: list[dict[str, Any]] = [
            repository.repository_metadata
            for repository in self.codecommit_backend.repositories.values()
        ]
        # ISO 8601 timestamps of one format sort as strings; the name breaks ties.
        repositories.sort(
            key=lambda m: (m[sort_by], m["repositoryName"]), reverse=order == "descending"
        )
        listed, token = page(
            repositories,
            token=self._get_param("nextToken"),
            size=None,
            default_size=PAGE_SIZE,
            unique="repositoryName",
            invalid_token=lambda: InvalidContinuationTokenException(
                "The specified continuation token is not valid."
            ),
            request={"sortBy": sort_by, "order": order},
        )
        result: dict[str, Any] = {
            "repositories": [
                {"repositoryName": m["repositoryName"], "repositoryId": m["repositoryId"]}
                for m in listed
            ]
        }
        if token:
            result["nextToken"] = token
        return ActionResult(result)
