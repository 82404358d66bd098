// The AWS SDK for JavaScript v3 Lambda client, for tests outside this package.
export * from '@aws-sdk/client-lambda';
