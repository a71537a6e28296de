"""CodeCommit: ListRepositories, which moto 5.2.5 lacks (a 500 NotImplementedError).

Every SageMaker Unified Studio project gets a CodeCommit repository from its
Tooling environment's stack, and a stack that fails to delete leaves it behind
(research/workflow.md §2.2 step 14). Finding those leftovers, as `smus-mesh
down` and `audit` do, needs ListRepositories, with its sorting and its pages
of 1,000 (the batch size the botocore model documents).
"""

from __future__ import annotations

from typing import Any

from moto.codecommit.responses import CodeCommitResponse
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

#: Repositories per ListRepositories page, as documented in the botocore model.
PAGE_SIZE = 1000


class InvalidSortByException(ServiceException):
    code = "InvalidSortByException"


class InvalidOrderException(ServiceException):
    code = "InvalidOrderException"


class InvalidContinuationTokenException(ServiceException):
    code = "InvalidContinuationTokenException"


class RepositoryListingResponse(CodeCommitResponse):
    """moto's CodeCommit plus ListRepositories."""

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
        token = self._get_param("nextToken")
        start = 0
        if token:
            start = int(token) if token.isdigit() else -1
            if not 0 <= start < len(repositories):
                raise InvalidContinuationTokenException(
                    "The specified continuation token is not valid."
                )
        page = repositories[start : start + PAGE_SIZE]
        result: dict[str, Any] = {
            "repositories": [
                {"repositoryName": m["repositoryName"], "repositoryId": m["repositoryId"]}
                for m in page
            ]
        }
        if start + PAGE_SIZE < len(repositories):
            result["nextToken"] = str(start + PAGE_SIZE)
        return ActionResult(result)
